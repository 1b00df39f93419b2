# RetinaNet + FPN with LaViT on PVTv2-b2's exact widths, depths, heads and MLP ratios
# (arch='pvtv2-b2': stage 1 all VA, later stages a third VA), started from the PVT v2-b2
# ImageNet release as mmdet's PVT v2 configs are: the official file is converted while
# loading; the LA layers keep its value projections, their Theta/Psi and the cross-stage maps
# start fresh (the load report in the log lists them). COCO 2017 1x, mmdet's PVT v2 recipe.
_base_ = './_base_/retinanet_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm.models.det'], allow_failed_imports=False)

model = dict(
    type='lavit_mm.RetinaNet',  # mmdet's RetinaNet + the backbone's DP loss as `loss_dp`
    backbone=dict(
        _delete_=True,
        type='lavit_mm.LaViT',
        arch='pvtv2-b2',
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained',
                      checkpoint='https://github.com/whai362/PVT/'
                      'releases/download/v2/pvt_v2_b2.pth')),
    neck=dict(in_channels=[64, 128, 320, 512]))

# no weight decay on norms and on the LA transforms (decay pulls Theta/Psi towards zero)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={'theta': dict(decay_mult=0.), 'psi': dict(decay_mult=0.),
                     'head_mix': dict(decay_mult=0.)}))
