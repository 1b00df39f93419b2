"""PVT v2 (Wang et al., CVMJ 2022): PVT v1 with three local parts, as options of the shared
hierarchical transformer.

- overlapping patch embedding (7x7 conv at stride 4, then 3x3 at stride 2; ``layers/embed.py``);
- a depthwise 3x3 conv in every MLP (``layers/block.py``);
- no absolute position table (the two convolutions above carry the positions);
- LayerNorm on every stage's output, feeding the next stage.

With the same weights it reproduces mmdet's ``PyramidVisionTransformerV2`` (b0-b5), at any
input size. (The official ``*_li`` variants, with linear-complexity pooled attention, are not
here.)
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from .pvt import small_input, sra_attention
from .toolbox_keywords import MMDET_PVTV2

V2_PARTS = dict(overlap_patch_embed=True, use_conv_ffn=True, use_abs_pos_embed=False)


def pvtv2_arch(width: int, depths, mlp_ratios=(8, 8, 4, 4)) -> dict:
    """A PVT v2 preset: widths (1, 2, 5, 8) x ``width``, heads 1/2/5/8, reductions 8/4/2/1,
    the v2 parts, all layers Vanilla Attention."""
    return dict(embed_dims=[width * m for m in (1, 2, 5, 8)], depths=list(depths),
                num_heads=[1, 2, 5, 8], mlp_ratios=list(mlp_ratios), sr_ratios=[8, 4, 2, 1],
                num_va=list(depths), **V2_PARTS)


@MODELS.register_module()
class PVTv2(HierarchicalViT):
    """Pyramid Vision Transformer v2. ``arch``: b0-b5, b0-32px, b1-32px, b2-32px (see
    ``pvt.small_input``), or a dict. The v2 parts come with the preset as arch keys
    (``overlap_patch_embed``, ``use_conv_ffn``, ``use_abs_pos_embed``). mmdet's
    keywords name an arch too (``embed_dims=32, num_layers=[2, 2, 2, 2]`` is b0:
    ``toolbox_keywords.py``)."""
    arch_zoo = {
        'b0': pvtv2_arch(32, [2, 2, 2, 2]),
        'b1': pvtv2_arch(64, [2, 2, 2, 2]),
        'b2': pvtv2_arch(64, [3, 4, 6, 3]),
        'b3': pvtv2_arch(64, [3, 4, 18, 3]),
        'b4': pvtv2_arch(64, [3, 8, 27, 3]),
        'b5': pvtv2_arch(64, [3, 6, 40, 3], mlp_ratios=(4, 4, 4, 4)),
        'b0-32px': small_input(pvtv2_arch(32, [2, 2, 2, 2])),
        'b1-32px': small_input(pvtv2_arch(64, [2, 2, 2, 2])),
        'b2-32px': small_input(pvtv2_arch(64, [3, 4, 6, 3])),
    }

    def __init__(self, arch=None, attention='sra', norm_after_stage=True, **kwargs):
        arch, kwargs = MMDET_PVTV2.read('PVTv2', arch, dict(kwargs, attention=attention), 'b2',
                                        self.arch_zoo)
        super().__init__(arch=arch, attention=sra_attention(
            'PVTv2', kwargs.pop('attention'), cross_stage_residual=False),
            norm_after_stage=norm_after_stage, **kwargs)
