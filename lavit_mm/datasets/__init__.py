"""Embedded datasets written in the exact layout of the public ones (no download needed)."""
from .synthetic_coco import make_synthetic_coco

__all__ = ['make_synthetic_coco']
