# RetinaNet + FPN with LaViT-T v1 (PVT v1-based, pvt1-tiny) on the aerial tree-crown set,
# from scratch
# (configs/_base_/neon_trees/detector.py).
_base_ = '../_base_/neon_trees/detector.py'
model = dict(
    backbone=dict(_delete_=True, type='lavit_mm.LaViT', arch='pvt1-tiny',
                  drop_path_rate=0.1,
                  out_indices=(0, 1, 2, 3), init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))
