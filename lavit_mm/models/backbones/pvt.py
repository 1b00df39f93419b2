"""PVT v1 (Wang et al., ICCV 2021): the shared hierarchical transformer with VA layers only.

With the same weights it reproduces mmdet's ``PyramidVisionTransformer``: floor-size patch
embedding (``patch_padding=0``), LayerNorm eps 1e-6, no per-stage output norm.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT

_PVT_WIDTHS = dict(embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
                   mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1])


def pvt_arch(depths):
    """A PVT v1 preset of the given depths, all layers Vanilla Attention."""
    return dict(_PVT_WIDTHS, depths=list(depths), num_va=list(depths))


@MODELS.register_module()
class PVT(HierarchicalViT):
    """Pyramid Vision Transformer v1. ``arch``: tiny, small, medium, large, or a dict."""
    arch_zoo = {
        'tiny': pvt_arch([2, 2, 2, 2]),
        'small': pvt_arch([3, 4, 6, 3]),
        'medium': pvt_arch([3, 4, 18, 3]),
        'large': pvt_arch([3, 8, 27, 3]),
    }

    def __init__(self, arch='tiny', patch_padding=0, cross_stage_residual=False, **kwargs):
        super().__init__(arch=arch, patch_padding=patch_padding,
                         cross_stage_residual=cross_stage_residual, **kwargs)
