"""lavit_mm: LaViT, PVT and Swin backbones for OpenMMLab (mmdet, mmseg, mmpretrain).

Importing the package only creates the ``lavit_mm`` registry scope; the models are imported
lazily when a config first names one (``type='lavit_mm.LaViT'``).
"""
from .registry import MODELS
from .version import __version__

__all__ = ['MODELS', '__version__']
