"""LaViT (Zhang et al., CVPR 2024): Less-Attention Vision Transformer.

Presets (our choice, LAVIT.md default 7): tiny/small/base have the widths, depths, heads and
MLP ratios of PVT-Tiny/Small/Medium; stage 1 is all Vanilla Attention; in stages 2-4 the first
ceil(L/2) layers are VA and the rest Less-Attention. The cross-stage attention residual is on.
"""
import math

from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from .pvt import pvt_arch


def lavit_arch(depths):
    """PVT widths of the given depths; stage 1 all VA, later stages ceil(L/2) VA layers."""
    arch = pvt_arch(depths)
    arch['num_va'] = [depths[0]] + [math.ceil(d / 2) for d in depths[1:]]
    return arch


@MODELS.register_module()
class LaViT(HierarchicalViT):
    """Less-Attention Vision Transformer. ``arch``: tiny, small, base, or a dict.

    Args:
        attention: the attention kind of the VA layers; 'sra' (PVT-style spatial reduction).
        norm_after_stage: LayerNorm on each output (default True, our choice: normalised
            inputs for FPN/heads, as Swin and PVT v2 do).
        See :class:`HierarchicalViT` for the other arguments.
    """
    arch_zoo = {
        'tiny': lavit_arch([2, 2, 2, 2]),
        'small': lavit_arch([3, 4, 6, 3]),
        'base': lavit_arch([3, 4, 18, 3]),
    }
    attention_kinds = ('sra',)

    def __init__(self, arch='small', attention='sra', norm_after_stage=True, **kwargs):
        if attention not in self.attention_kinds:
            raise ValueError(f'LaViT: unknown attention {attention!r}; choose one of '
                             f'{self.attention_kinds}')
        self.attention = attention
        super().__init__(arch=arch, norm_after_stage=norm_after_stage, **kwargs)
