# LaViT on Swin-T windows, ImageNet-1k pretraining, the DeiT/Swin recipe.
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm.models.cls'], allow_failed_imports=False)
model = dict(
    type='lavit_mm.ImageClassifier',
    backbone=dict(type='lavit_mm.LaViT', attention='window', arch='tiny', out_indices=(3, ),
                  drop_path_rate=0.2),
    head=dict(in_channels=768))
