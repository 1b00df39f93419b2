# Our PVTv2-b2, ImageNet-1k pretraining, the DeiT/Swin recipe (PVT v2's); every stage's
# output norm (norm1-4 of the official classifier) feeds the next stage and the head.
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(type='lavit_mm.PVTv2', arch='b2', out_indices=(3, ), drop_path_rate=0.1),
    head=dict(in_channels=512))
