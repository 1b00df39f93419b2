from .hierarchical import HierarchicalViT
from .lavit import LaViT
from .pvt import PVT

__all__ = ['HierarchicalViT', 'LaViT', 'PVT']
