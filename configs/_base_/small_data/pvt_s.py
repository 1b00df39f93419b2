# PVT-S for 28-64 px images (small-32px), the baseline of LaViT-S, on the small-data recipe.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.PVT', arch='small-32px', norm_after_stage=(3, ), out_indices=(3, ),
                  drop_path_rate=0.0),
    head=dict(in_channels=512))
