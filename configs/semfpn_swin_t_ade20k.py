# Semantic FPN + our Swin-T on ADE20K, 80k iterations; the same (PVT paper's) recipe as the
# other Semantic FPN configs, so the backbones compare; drop path 0.2 as Swin-T elsewhere.
_base_ = './_base_/semfpn_ade20k_80k.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='lavit_mm.Swin', arch='tiny', drop_path_rate=0.2,
                  init_cfg=None),
    neck=dict(in_channels=[96, 192, 384, 768]))
