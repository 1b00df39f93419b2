# RetinaNet + FPN with our Swin-T (window attention, VA layers only), COCO 2017 1x, following
# mmdet's Swin recipe: stages 2-4 to the FPN (start_level 0, 5 levels), drop path 0.2, AdamW
# lr 1e-4, weight decay 0.05 without decay on norms and relative position tables.
# ImageNet weights: python tools/convert_weights.py --from swin-official swin_tiny.pth OUT.
_base_ = './_base_/retinanet_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='lavit_mm.Swin',
        arch='tiny',
        attention=dict(type='window', window_size=7),
        drop_path_rate=0.2,
        # only the stages the FPN uses: an unused output norm would break DDP
        out_indices=(1, 2, 3),
        init_cfg=None),
    neck=dict(in_channels=[192, 384, 768], start_level=0, num_outs=5))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, betas=(0.9, 0.999),
                   weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
