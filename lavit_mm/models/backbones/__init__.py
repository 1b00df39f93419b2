from .hierarchical import HierarchicalViT
from .lavit import LaViT
from .plain_vit import LaViTPlain
from .pvt import PVT
from .pvtv2 import PVTv2
from .swin import Swin

__all__ = ['HierarchicalViT', 'LaViT', 'LaViTPlain', 'PVT', 'PVTv2', 'Swin']
