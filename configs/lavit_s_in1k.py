# LaViT-S ImageNet-1k pretraining with mmpretrain, the DeiT/Swin recipe (see _base_).
# Its checkpoint initialises the detection/segmentation configs through
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm.models.cls'], allow_failed_imports=False)
model = dict(
    type='lavit_mm.ImageClassifier',  # mmpretrain's ImageClassifier + `loss_dp`
    backbone=dict(type='lavit_mm.LaViT', arch='small', out_indices=(3, ), drop_path_rate=0.1),
    head=dict(in_channels=512))
