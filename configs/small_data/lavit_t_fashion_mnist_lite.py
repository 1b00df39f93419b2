# "LaViT-T lite" on Fashion-MNIST: LA keys 2x coarser and Less-Attention in stage 1 too (one VA
# layer per stage, the rest LA), the cheapest LaViT form (docs/performance.md).
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(
    less_attention=dict(key_stride=2),
    arch=dict(_delete_=True, embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
              mlp_ratios=[8, 8, 4, 4], sr_ratios=[2, 1, 1, 1], patch_sizes=[2, 2, 2, 2],
              depths=[2, 2, 2, 2], num_va=[1, 1, 1, 1])))
