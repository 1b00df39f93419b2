# LaViT-S v1 (the PVT v1-based preset, pvt1-small-32px) for 28-64 px images, on the
# small-data recipe.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.LaViT', arch='pvt1-small-32px', out_indices=(3, ),
                  drop_path_rate=0.0),
    head=dict(in_channels=512))
