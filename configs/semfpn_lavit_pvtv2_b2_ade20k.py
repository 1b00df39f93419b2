# Semantic FPN + LaViT on PVTv2-b2's exact widths (arch='pvtv2-b2') on ADE20K, 80k iterations,
# the LaViT-S recipe, started from the PVT v2-b2 ImageNet release (converted while loading;
# the LA parts start fresh and are listed in the load report).
_base_ = './semfpn_lavit_s_ade20k.py'
model = dict(
    backbone=dict(
        arch='pvtv2-b2',
        init_cfg=dict(_delete_=True, type='Pretrained',  # the base's init_cfg is None
                      checkpoint='https://github.com/whai362/PVT/'
                      'releases/download/v2/pvt_v2_b2.pth')))
