"""Embedded datasets written in the exact layout of the public ones (no download needed), and
the preparation of real ones for the toolboxes' stock dataset classes."""
from .fashion_mnist import prepare_fashion_mnist
from .synthetic_ade import make_synthetic_ade
from .synthetic_coco import make_synthetic_coco
from .synthetic_imagenet import make_synthetic_imagenet

__all__ = ['make_synthetic_ade', 'make_synthetic_coco', 'make_synthetic_imagenet',
           'prepare_fashion_mnist']
