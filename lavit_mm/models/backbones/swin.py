"""Swin Transformer (Liu et al., ICCV 2021): the shared hierarchical transformer with
(shifted-)window VA layers only.

With the same weights it reproduces mmdet's ``SwinTransformer``: 4x4 patch embedding with
right/bottom padding, 2x2 patch merging between stages, windows of 7 alternating with shifted
windows, relative position bias, LayerNorm (eps 1e-5) on each output.
"""
from lavit_mm.registry import MODELS
from .hierarchical import HierarchicalViT
from ..layers.window import small_input_windows, swin_arch
from .spec import attention_of_kind
from .toolbox_keywords import SWIN_TRANSFORMER


@MODELS.register_module()
class Swin(HierarchicalViT):
    """Swin Transformer. ``arch``: tiny, small, base, tiny-32px (see
    :func:`small_input_windows`), or a dict; or mmdet's/mmseg's keywords for it (``embed_dims=96,
    depths=[2, 2, 6, 2], ...``, ``window_size``: ``toolbox_keywords.py``). The window size is
    the preset's (7 unless it names one) unless ``attention=dict(type='window',
    window_size=...)`` gives one."""
    arch_zoo = {
        'tiny': swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24]),
        'small': swin_arch(96, [2, 2, 18, 2], [3, 6, 12, 24]),
        'base': swin_arch(128, [2, 2, 18, 2], [4, 8, 16, 32]),
        'tiny-32px': small_input_windows(swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24])),
    }

    def __init__(self, arch=None, attention='window', norm_after_stage=True,
                 norm_cfg=dict(type='LN'), **kwargs):
        arch, kwargs = SWIN_TRANSFORMER.read('Swin', arch, dict(kwargs, attention=attention),
                                             'tiny', self.arch_zoo)
        attention = attention_of_kind('Swin', kwargs.pop('attention'), 'window',
                                      'use LaViT for other kinds')
        super().__init__(arch=arch, attention=attention, norm_after_stage=norm_after_stage,
                         norm_cfg=norm_cfg, **kwargs)
