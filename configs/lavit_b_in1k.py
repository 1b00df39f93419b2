# LaViT-B ImageNet-1k pretraining, the DeiT/Swin recipe (drop path 0.3, as PVT-M).
_base_ = './lavit_s_in1k.py'
model = dict(backbone=dict(arch='base', drop_path_rate=0.3))
