"""Embedded datasets written in the exact layout of the public ones (no download needed)."""
from .synthetic_ade import make_synthetic_ade
from .synthetic_coco import make_synthetic_coco
from .synthetic_imagenet import make_synthetic_imagenet

__all__ = ['make_synthetic_ade', 'make_synthetic_coco', 'make_synthetic_imagenet']
