# LaViT-T v1 (the PVT v1-based preset, pvt1-tiny-32px: 2x2 patches, reductions 2/1/1/1) for
# 28-64 px images, small-data recipe; the paper-sized LaViT-T is lavit_t_paper.py.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.LaViT', arch='pvt1-tiny-32px', out_indices=(3, ),
                  drop_path_rate=0.0),
    head=dict(in_channels=512))
