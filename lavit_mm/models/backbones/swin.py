"""Swin Transformer (Liu et al., ICCV 2021): the shared hierarchical transformer with
(shifted-)window VA layers only.

With the same weights it reproduces mmdet's ``SwinTransformer``: 4x4 patch embedding with
right/bottom padding, 2x2 patch merging between stages, windows of 7 alternating with shifted
windows, relative position bias, LayerNorm (eps 1e-5) on each output.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from .toolbox_keywords import SWIN_TRANSFORMER


def swin_arch(embed_dims, depths, num_heads, mlp_ratio=4):
    """A Swin preset: widths doubling per stage, all layers Vanilla (window) Attention."""
    return dict(embed_dims=[embed_dims * 2 ** i for i in range(4)], depths=list(depths),
                num_heads=list(num_heads), mlp_ratios=[mlp_ratio] * 4, num_va=list(depths))


def small_input_windows(arch: dict) -> dict:
    """The ``-32px`` variant of a 'window' preset, for 28-64 px images.

    The ImageNet form (4x4 patches, windows of 7) puts a 32 px image on token grids of
    8/4/2/1: every stage fits in one padded 7x7 window, mostly padding. Here: 2x2 patches
    (grids 16/8/4/2 at 32 px, as the 'sra' ``-32px`` presets) and windows of 4: 16, 4 and 1
    windows of 16 tokens in stages 1-3, shifted by 2 every other layer. Stage 4's 2x2 map
    sits in one window padded to 4x4, as Swin pads any map (12 of its 16 keys are padding).
    """
    return dict(arch, patch_sizes=[2, 2, 2, 2], window_size=4)


@MODELS.register_module()
class Swin(HierarchicalViT):
    """Swin Transformer. ``arch``: tiny, small, base, tiny-32px (see
    :func:`small_input_windows`), or a dict; or mmdet's/mmseg's keywords for it (``embed_dims=96,
    depths=[2, 2, 6, 2], ...``: ``toolbox_keywords.py``). ``window_size``: the preset's (7
    unless it names one) when None."""
    arch_zoo = {
        'tiny': swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24]),
        'small': swin_arch(96, [2, 2, 18, 2], [3, 6, 12, 24]),
        'base': swin_arch(128, [2, 2, 18, 2], [4, 8, 16, 32]),
        'tiny-32px': small_input_windows(swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24])),
    }

    def __init__(self, arch=None, window_size=None, norm_after_stage=True,
                 norm_cfg=dict(type='LN'), **kwargs):
        arch, kwargs = SWIN_TRANSFORMER.read('Swin', arch, kwargs, 'tiny', self.arch_zoo)
        for fixed in ('attention', 'cross_stage_residual'):
            if fixed in kwargs:
                raise ValueError(f"Swin: {fixed} is fixed (the 'window' kind, no cross-stage "
                                 f"residual); remove it, or use LaViT for other choices")
        super().__init__(arch=arch, attention='window', window_size=window_size,
                         norm_after_stage=norm_after_stage, norm_cfg=norm_cfg,
                         cross_stage_residual=False, **kwargs)
