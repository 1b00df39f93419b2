# Semantic FPN + LaViT-S on ADE20K, 80k iterations, the PVT paper's recipe (see _base_).
_base_ = './_base_/semfpn_ade20k_80k.py'
custom_imports = dict(imports=['lavit_mm.models.seg'], allow_failed_imports=False)
model = dict(
    type='lavit_mm.EncoderDecoder',  # mmseg's EncoderDecoder + the backbone's `loss_dp`
    backbone=dict(
        _delete_=True,
        type='lavit_mm.LaViT',
        arch='small',
        drop_path_rate=0.1,
        # ImageNet weights from configs/lavit_s_in1k.py:
        # init_cfg=dict(type='Pretrained', checkpoint='...', prefix='backbone.'),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))
