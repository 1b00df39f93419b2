# A plain ViT with Less-Attention: DeiT-S widths (384, 12 layers, 6 heads) with the last three
# layers LA (9 VA + 3 LA, about the paper's 14 + 4 of 18), ImageNet-1k with the DeiT/Swin
# recipe; the class token feeds the head. Without less_attention it is mmpretrain's DeiT-S and
# loads its checkpoints (tools/convert_weights.py --from mmpretrain-vit / deit-official).
_base_ = './_base_/in1k_swin_recipe.py'
custom_imports = dict(imports=['lavit_mm.models.cls'], allow_failed_imports=False)
model = dict(
    type='lavit_mm.ImageClassifier',  # mmpretrain's ImageClassifier + the backbone's loss_dp
    backbone=dict(type='lavit_mm.LaViTPlain', arch='deit-small',
                  less_attention=dict(layers='9va+3la'),
                  img_size=224, patch_size=16, drop_path_rate=0.1),
    neck=None,
    head=dict(in_channels=384))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'cls_token': dict(decay_mult=0.)}))
