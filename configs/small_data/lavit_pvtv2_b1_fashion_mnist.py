# LaViT of PVTv2-b1's widths at 32 px (b1-32px with the second layer of stages 2-4 LA, the
# cross-stage residual on): the model a trained pvtv2_b1_fashion_mnist checkpoint loads into
# (tools/transplant_checkpoint.py: VA layers and head as they are, an LA layer the value
# projection), then scored with no training and fine-tuned (docs/results.md).
_base_ = './pvtv2_b1_fashion_mnist.py'
model = dict(
    backbone=dict(
        type='lavit_mm.LaViT',
        arch=dict(_delete_=True, embed_dims=[64, 128, 320, 512], depths=[2, 2, 2, 2], num_heads=[1, 2, 5, 8],
                  mlp_ratios=[8, 8, 4, 4], sr_ratios=[2, 1, 1, 1], patch_sizes=[2, 2, 2, 2],
                  num_va=[2, 1, 1, 1], overlap_patch_embed=True, use_conv_ffn=True,
                  use_abs_pos_embed=False)))
