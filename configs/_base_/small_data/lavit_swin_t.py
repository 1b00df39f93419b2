# LaViT on Swin-T windows for 28-64 px images (tiny-32px, windows of 4), on the small-data recipe.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.LaViT', attention='window', arch='tiny-32px',
                  out_indices=(3, ),
                  drop_path_rate=0.0),
    head=dict(in_channels=768))
