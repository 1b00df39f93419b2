# LaViT-T ImageNet-1k pretraining, the DeiT/Swin recipe.
_base_ = './lavit_s_in1k.py'
model = dict(backbone=dict(arch='tiny'))
