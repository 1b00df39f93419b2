# RetinaNet + FPN with LaViT on Swin-T windows on the aerial tree-crown set, from scratch
# (configs/_base_/neon_trees/detector.py).
_base_ = '../_base_/neon_trees/detector.py'
model = dict(
    backbone=dict(_delete_=True, type='lavit_mm.LaViT', attention='window', arch='tiny',
                  drop_path_rate=0.2,
                  out_indices=(0, 1, 2, 3), init_cfg=None),
    neck=dict(in_channels=[96, 192, 384, 768]))
