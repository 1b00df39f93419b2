# "LaViT-S lite" on the embedded ImageNet-layout set: LaViT-S with its LA layers on a 2x
# coarser key grid (less_attention.key_stride=2) and Less-Attention in stage 1 as well (VA layers per
# stage 1/2/3/2 instead of 3/2/3/2). The variant that reaches <= 0.9x PVT-S latency at
# 800x1333 (docs/performance.md); this demo compares its quality with LaViT-S and PVT-S.
_base_ = './lavit_s_synthetic_cls.py'

model = dict(backbone=dict(
    less_attention=dict(key_stride=2),
    arch=dict(_delete_=True, embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
              mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1], depths=[3, 4, 6, 3],
              num_va=[1, 2, 3, 2])))
