# Semantic FPN + our PVTv2-b2 on ADE20K, 80k iterations, the PVT paper's recipe (see _base_),
# as the other Semantic FPN configs here (the PVT v2 paper trains 40k).
_base_ = './_base_/semfpn_ade20k_80k.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='lavit_mm.PVTv2', arch='b2', drop_path_rate=0.1,
                  init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))
