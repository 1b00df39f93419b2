"""Swin Transformer (Liu et al., ICCV 2021): the shared hierarchical transformer with
(shifted-)window VA layers only.

With the same weights it reproduces mmdet's ``SwinTransformer``: 4x4 patch embedding with
right/bottom padding, 2x2 patch merging between stages, windows of 7 alternating with shifted
windows, relative position bias, LayerNorm (eps 1e-5) on each output.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT


def swin_arch(embed_dims, depths, num_heads, mlp_ratio=4):
    """A Swin preset: widths doubling per stage, all layers Vanilla (window) Attention."""
    return dict(embed_dims=[embed_dims * 2 ** i for i in range(4)], depths=list(depths),
                num_heads=list(num_heads), mlp_ratios=[mlp_ratio] * 4, num_va=list(depths))


@MODELS.register_module()
class Swin(HierarchicalViT):
    """Swin Transformer. ``arch``: tiny, small, base, or a dict."""
    arch_zoo = {
        'tiny': swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24]),
        'small': swin_arch(96, [2, 2, 18, 2], [3, 6, 12, 24]),
        'base': swin_arch(128, [2, 2, 18, 2], [4, 8, 16, 32]),
    }

    def __init__(self, arch='tiny', window_size=7, norm_after_stage=True,
                 norm_cfg=dict(type='LN'), **kwargs):
        super().__init__(arch=arch, attention='window', window_size=window_size,
                         norm_after_stage=norm_after_stage, norm_cfg=norm_cfg,
                         cross_stage_residual=False, **kwargs)
