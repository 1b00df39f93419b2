# LaViT-T at the paper's budget (PVT v2 parts, tiny-32px: 2x2 overlapping patches, reductions
# 2/1/1/1) for 28-64 px images, on the small-data recipe.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.LaViT', arch='tiny-32px', out_indices=(3, ),
                  drop_path_rate=0.0),
    head=dict(in_channels=512))
