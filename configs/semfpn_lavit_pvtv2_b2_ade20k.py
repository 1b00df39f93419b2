# Semantic FPN + LaViT on PVTv2-b2's exact widths (arch='pvtv2-b2') on ADE20K, 80k iterations,
# the PVT paper's recipe (see _base_), started from the PVT v2-b2 ImageNet release (converted
# while loading; the LA parts start fresh and are listed in the load report).
_base_ = './_base_/semfpn_ade20k_80k.py'
custom_imports = dict(imports=['lavit_mm.models.seg'], allow_failed_imports=False)
model = dict(
    type='lavit_mm.EncoderDecoder',  # mmseg's EncoderDecoder + the backbone's `loss_dp`
    backbone=dict(
        _delete_=True,
        type='lavit_mm.LaViT',
        arch='pvtv2-b2',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained',
                      checkpoint='https://github.com/whai362/PVT/'
                      'releases/download/v2/pvt_v2_b2.pth')),
    neck=dict(in_channels=[64, 128, 320, 512]))
