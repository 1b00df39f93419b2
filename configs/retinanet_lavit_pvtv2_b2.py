# RetinaNet + FPN with LaViT on PVTv2-b2's exact widths, depths, heads and MLP ratios
# (arch='pvtv2-b2': stage 1 all VA, later stages a third VA), started from the PVT v2-b2
# ImageNet release as mmdet's PVT v2 configs are: the official file is converted while
# loading; the LA layers keep its value projections, their Theta/Psi and the cross-stage maps
# start fresh (the load report in the log lists them). COCO 2017 1x, the LaViT-S recipe.
_base_ = './retinanet_lavit_s.py'
model = dict(
    backbone=dict(
        arch='pvtv2-b2',
        init_cfg=dict(_delete_=True, type='Pretrained',  # the base's init_cfg is None
                      checkpoint='https://github.com/whai362/PVT/'
                      'releases/download/v2/pvt_v2_b2.pth')))
