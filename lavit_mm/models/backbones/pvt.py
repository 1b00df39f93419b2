"""PVT v1 (Wang et al., ICCV 2021): the shared hierarchical transformer with VA layers only.

With the same weights it reproduces mmdet's ``PyramidVisionTransformer``: floor-size patch
embedding (``patch_padding=0``), LayerNorm eps 1e-6, no per-stage output norm.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from .spec import attention_of_kind
from .toolbox_keywords import MMDET_PVT

_PVT_WIDTHS = dict(embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
                   mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1])


def pvt_arch(depths):
    """A PVT v1 preset of the given depths, all layers Vanilla Attention."""
    return dict(_PVT_WIDTHS, depths=list(depths), num_va=list(depths))


def small_input(arch: dict) -> dict:
    """The ``-32px`` variant of an 'sra' preset, for 28-64 px images (Fashion-MNIST, CIFAR).

    The ImageNet form (patches 4/2/2/2, reductions 8/4/2/1) leaves a 32 px image token grids
    of 8/4/2/1 and key grids of 1x1 in every stage: each query attends to one key, so the
    attention is a constant. Here: 2x2 patches in every stage (token grids 16/8/4/2 at 32 px,
    strides 2/4/8/16) and reductions 2/1/1/1 (key grids 8x8/8x8/4x4/2x2), so every stage
    attends over 4-64 keys. Widths, depths, heads and MLP ratios are the preset's.
    """
    return dict(arch, patch_sizes=[2, 2, 2, 2], sr_ratios=[2, 1, 1, 1])


@MODELS.register_module()
class PVT(HierarchicalViT):
    """Pyramid Vision Transformer v1. ``arch``: tiny, small, medium, large, tiny-32px,
    small-32px (see :func:`small_input`), or a dict; or mmdet's keywords for it
    (``num_layers=[2, 2, 2, 2]``: ``toolbox_keywords.py``)."""
    arch_zoo = {
        'tiny': pvt_arch([2, 2, 2, 2]),
        'small': pvt_arch([3, 4, 6, 3]),
        'medium': pvt_arch([3, 4, 18, 3]),
        'large': pvt_arch([3, 8, 27, 3]),
        'tiny-32px': small_input(pvt_arch([2, 2, 2, 2])),
        'small-32px': small_input(pvt_arch([3, 4, 6, 3])),
    }

    def __init__(self, arch=None, attention='sra', **kwargs):
        arch, kwargs = MMDET_PVT.read('PVT', arch, dict(kwargs, attention=attention), 'tiny',
                                      self.arch_zoo)
        resolved = arch if isinstance(arch, dict) else self.arch_zoo.get(str(arch).lower(), {})
        # PVT v1 floors sizes (the overlapping embedding sets its own padding)
        padding = {} if resolved.get('overlap_patch_embed') else dict(patch_padding=0)
        super().__init__(arch=arch, attention=sra_attention(
            'PVT', kwargs.pop('attention'), cross_stage_residual=False, **padding), **kwargs)


def sra_attention(owner: str, attention, **defaults) -> dict:
    """``attention`` of a PVT (a name or a dict) as a dict with ``defaults``, refused unless
    it is the 'sra' kind."""
    return attention_of_kind(owner, attention, 'sra',
                             "use Swin or LaViT(attention='window') for windows", **defaults)
