from .hierarchical import HierarchicalViT
from .lavit import LaViT
from .pvt import PVT
from .swin import Swin

__all__ = ['HierarchicalViT', 'LaViT', 'PVT', 'Swin']
