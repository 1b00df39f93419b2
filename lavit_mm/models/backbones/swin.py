"""Swin Transformer (Liu et al., ICCV 2021): the shared hierarchical transformer with
(shifted-)window VA layers only.

With the same weights it reproduces mmdet's ``SwinTransformer``: 4x4 patch embedding with
right/bottom padding, 2x2 patch merging between stages, windows of 7 alternating with shifted
windows, relative position bias, LayerNorm (eps 1e-5) on each output.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from ..layers.window import small_input_windows, swin_arch
from .toolbox_keywords import SWIN_TRANSFORMER


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
