# PVTv2-b1 for 28-64 px images (b1-32px: 2x2 patches, reductions 2/1/1/1, as the -32px
# presets of PVT/LaViT), on the small-data recipe.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.PVTv2', arch='b1-32px', out_indices=(3, ), drop_path_rate=0.0),
    head=dict(in_channels=512))
