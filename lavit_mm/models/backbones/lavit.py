"""LaViT (Zhang et al., CVPR 2024): Less-Attention Vision Transformer.

Presets (our choice; the paper's depths and widths are not public, docs/design.md):
- ``attention='sra'``, ``tiny``/``small``/``base``: the paper's budgets (10.9M / 1.6 GFLOPs,
  22.4M / 3.3, 39.6M / 6.1 as ImageNet classifiers at 224) on PVT v2's parts (overlapping
  patch embedding, depthwise conv in the MLP, no position table): PVTv2-b1/b2/b3 widths and
  heads, MLP ratio 4 in every stage, depths [2, 3, 2, 1] / b2's / b3's; stage 1 all Vanilla
  Attention, later stages the first ceil(L/3) layers VA and the rest LA
  (``layers/kind.with_less_attention``); the cross-stage attention residual is on;
- ``pvtv2-b0`` ... ``pvtv2-b5``: exactly PVT v2-b0 ... b5 (widths, depths, heads, MLP ratios,
  reductions, parts), with Less-Attention placed as in the paper-sized presets (stage 1 all
  VA, later stages a third VA): they take the PVT v2 ImageNet releases as they are, the LA
  layers keeping the value projections and starting Theta/Psi and the cross-stage maps fresh;
- ``pvt1-tiny``/``pvt1-small``/``pvt1-base``: PVT v1-Tiny/Small/Medium with
  the first ceil(L/2) layers of stages 2-4 VA (12.6M / 1.90, 23.4M / 3.72, 41.9M / 6.43);
- ``attention='window'``: tiny/small/base with Swin-T/S/B widths, depths and heads, ceil(L/2)
  (the window kind's ``lavit_presets``, ``layers/window.py``);
- ``-32px`` forms of the sra presets and of window ``tiny``, for 28-64 px images (2x2
  patches, smaller reductions/windows; see ``pvt.small_input``,
  ``layers/window.small_input_windows``).
"""

from lavit_mm.registry import MODELS
from ..layers import ATTENTION_KINDS
from ..layers.kind import with_less_attention
from .hierarchical import HierarchicalViT
from .pvt import pvt_arch, small_input
from .pvtv2 import PVTv2, pvtv2_arch
from .spec import attention_config
from .toolbox_keywords import SPELLINGS


def paper_budget(depths) -> dict:
    """A paper-sized preset: PVTv2-b1..b3 widths and heads, MLP ratio 4, a third VA."""
    return with_less_attention(pvtv2_arch(64, depths, mlp_ratios=(4, 4, 4, 4)), va_share=3)


@MODELS.register_module()
class LaViT(HierarchicalViT):
    """Less-Attention Vision Transformer. ``arch``: tiny, small, base, tiny-32px, small-32px
    and their ``pvt1-`` forms, pvtv2-b0 ... pvtv2-b5 (sra), tiny, small, base, tiny-32px
    (window), or a dict.

    Args:
        attention: 'sra' (PVT-style spatial reduction, default) or 'window' (Swin), or a
            dict of the kind's type and options.
        norm_after_stage: LayerNorm on each output (default True, our choice: normalised
            inputs for FPN/heads, as Swin and PVT v2 do).
        arch: a preset (default 'small') or a dict. mmdet's/mmseg's architecture keywords
            (``embed_dims``, ``num_layers``, ...; ``toolbox_keywords.py``) are taken when they
            state what the arch is, so a toolbox's config runs with ``type`` and ``arch``
            changed.
        less_attention: as :class:`HierarchicalViT`'s; the DP loss's weight is 1.0 by default
            (LaViT trains with it).
        norm_cfg: LayerNorm eps 1e-6 for 'sra' (PVT's), 1e-5 for 'window' (Swin's).
        See :class:`HierarchicalViT` for the other arguments.
    """
    default_dp_loss_weight = 1.0
    arch_zoo = {
        'tiny': paper_budget([2, 3, 2, 1]),
        'small': paper_budget([3, 4, 6, 3]),
        'base': paper_budget([3, 4, 18, 3]),
        'tiny-32px': small_input(paper_budget([2, 3, 2, 1])),
        'small-32px': small_input(paper_budget([3, 4, 6, 3])),
        **{f'pvtv2-{b}': with_less_attention(arch, va_share=3)
           for b, arch in PVTv2.arch_zoo.items() if not b.endswith('32px')},
        'pvt1-tiny': with_less_attention(pvt_arch([2, 2, 2, 2])),
        'pvt1-small': with_less_attention(pvt_arch([3, 4, 6, 3])),
        'pvt1-base': with_less_attention(pvt_arch([3, 4, 18, 3])),
        'pvt1-tiny-32px': with_less_attention(small_input(pvt_arch([2, 2, 2, 2]))),
        'pvt1-small-32px': with_less_attention(small_input(pvt_arch([3, 4, 6, 3]))),
    }

    def __init__(self, arch=None, attention='sra', norm_after_stage=True, **kwargs):
        attention = attention_config('LaViT', attention)
        kind = ATTENTION_KINDS.get(attention['type'])
        spelling = SPELLINGS.get(getattr(kind, 'toolbox_keywords', None))
        if spelling is not None:  # mmdet's/mmseg's keywords must agree with the preset
            arch, kwargs = spelling.read('LaViT', arch, dict(kwargs, attention=attention),
                                         'small', self.arch_zoo_for(kind.name), builds=False)
            attention = kwargs.pop('attention')
        elif arch is None:
            arch = 'small'
        if kind is not None and kind.default_norm_cfg is not None:  # e.g. Swin's eps
            kwargs.setdefault('norm_cfg', kind.default_norm_cfg)
        super().__init__(arch=arch, attention=attention, norm_after_stage=norm_after_stage,
                         **kwargs)

    @classmethod
    def arch_zoo_for(cls, attention):
        """The presets of ``attention``: ours for 'sra', the kind's ``lavit_presets`` for
        the others."""
        kind = ATTENTION_KINDS.get(attention)
        return cls.arch_zoo if kind is None or kind.name == 'sra' else kind.lavit_presets
