# Our Swin-T, ImageNet-1k pretraining, the DeiT/Swin recipe (drop path 0.2).
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(type='lavit_mm.Swin', arch='tiny', out_indices=(3, ), drop_path_rate=0.2),
    head=dict(in_channels=768))
