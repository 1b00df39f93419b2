# Our PVT-S, ImageNet-1k pretraining, the DeiT/Swin recipe; a final LayerNorm on stage 4 as
# the official PVT v1 classifier has (its `norm`).
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(type='lavit_mm.PVT', arch='small', out_indices=(3, ), drop_path_rate=0.1,
                  norm_after_stage=(3, )),
    head=dict(in_channels=512))
