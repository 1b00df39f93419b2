# The 18-layer plain ViT of the attention-collapse experiment (docs/results.md): width 192,
# 3 heads, FFN 768, 4x4 patches of 32 px images (an 8 x 8 grid and a class token), all VA;
# the class token feeds the linear head. lavit_mm.LaViTPlain is mmpretrain's
# VisionTransformer with optional LA layers (layer_types), here without any.
_base_ = './classifier.py'
model = dict(
    backbone=dict(type='lavit_mm.LaViTPlain',
                  arch=dict(embed_dims=192, num_layers=18, num_heads=3, feedforward_channels=768),
                  img_size=32, patch_size=4, out_type='cls_token', drop_path_rate=0.0),
    neck=None,
    head=dict(in_channels=192))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'cls_token': dict(decay_mult=0.)}))
