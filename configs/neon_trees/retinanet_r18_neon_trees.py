# RetinaNet + FPN with mmdet's stock ResNet-18 on the aerial tree-crown set, from scratch like
# the transformers (configs/_base_/neon_trees/detector.py): the CNN baseline a user tries first.
_base_ = '../_base_/neon_trees/detector.py'
model = dict(
    backbone=dict(_delete_=True, type='mmdet.ResNet', depth=18, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False,
                  style='pytorch', init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]))
