# RetinaNet + FPN with LaViT-B (PVT-Medium widths), COCO 2017 1x, AdamW lr 1e-4.
_base_ = './retinanet_lavit_s.py'
model = dict(backbone=dict(arch='base'))
