# RetinaNet + FPN with our PVTv2-b2 (equal to mmdet's PyramidVisionTransformerV2 given the same
# weights), COCO 2017 1x, mmdet's PVT v2 recipe: AdamW lr 1e-4, weight decay 1e-4, batch 16;
# no decay on norms (PVT v2 has no position table).
# ImageNet weights: init_cfg=dict(type='Pretrained', checkpoint=...) with the official
# pvt_v2_b2.pth (or its URL), converted while loading.
_base_ = './_base_/retinanet_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='lavit_mm.PVTv2',
        arch='b2',
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001),
    paramwise_cfg=dict(norm_decay_mult=0.))
