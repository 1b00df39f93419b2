"""LaViT (Zhang et al., CVPR 2024): Less-Attention Vision Transformer.

Presets (our choice), stage 1 all Vanilla Attention, stages 2-4 the first ceil(L/2) layers VA
and the rest Less-Attention:
- ``attention='sra'``: tiny/small/base with PVT-Tiny/Small/Medium widths, depths, heads and
  MLP ratios; the cross-stage attention residual is on;
- ``attention='window'``: tiny/small/base with Swin-T/S/B widths, depths and heads;
- ``tiny-32px``/``small-32px`` (sra) and ``tiny-32px`` (window): the same for 28-64 px images
  (2x2 patches, smaller reductions/windows; see ``pvt.small_input``, ``swin.small_input_windows``).
"""
import math

from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from .pvt import pvt_arch, small_input
from .swin import small_input_windows, swin_arch


def less_attention(arch: dict) -> dict:
    """Stage 1 all VA; later stages ceil(L/2) VA layers, then LA."""
    depths = arch['depths']
    return dict(arch, num_va=[depths[0]] + [math.ceil(d / 2) for d in depths[1:]])


@MODELS.register_module()
class LaViT(HierarchicalViT):
    """Less-Attention Vision Transformer. ``arch``: tiny, small, base, tiny-32px, small-32px
    (sra), tiny-32px (window), or a dict.

    Args:
        attention: 'sra' (PVT-style spatial reduction, default) or 'window' (Swin).
        norm_after_stage: LayerNorm on each output (default True, our choice: normalised
            inputs for FPN/heads, as Swin and PVT v2 do).
        dp_loss_weight: the DP loss's weight, 1.0 by default (LaViT trains with it).
        norm_cfg: LayerNorm eps 1e-6 for 'sra' (PVT's), 1e-5 for 'window' (Swin's).
        See :class:`HierarchicalViT` for the other arguments.
    """
    default_dp_loss_weight = 1.0
    arch_zoo = {
        'tiny': less_attention(pvt_arch([2, 2, 2, 2])),
        'small': less_attention(pvt_arch([3, 4, 6, 3])),
        'base': less_attention(pvt_arch([3, 4, 18, 3])),
        'tiny-32px': less_attention(small_input(pvt_arch([2, 2, 2, 2]))),
        'small-32px': less_attention(small_input(pvt_arch([3, 4, 6, 3]))),
    }
    window_arch_zoo = {
        'tiny': less_attention(swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24])),
        'small': less_attention(swin_arch(96, [2, 2, 18, 2], [3, 6, 12, 24])),
        'base': less_attention(swin_arch(128, [2, 2, 18, 2], [4, 8, 16, 32])),
        'tiny-32px': less_attention(small_input_windows(swin_arch(96, [2, 2, 6, 2],
                                                                  [3, 6, 12, 24]))),
    }

    def __init__(self, arch='small', attention='sra', norm_after_stage=True, **kwargs):
        if attention == 'window':
            kwargs.setdefault('norm_cfg', dict(type='LN'))  # Swin's LayerNorm eps
        super().__init__(arch=arch, attention=attention, norm_after_stage=norm_after_stage,
                         **kwargs)

    @classmethod
    def arch_zoo_for(cls, attention):
        return cls.window_arch_zoo if attention == 'window' else cls.arch_zoo
