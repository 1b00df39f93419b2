"""Models of lavit_mm. Backbones depend on torch/mmcv/mmengine only; the task models that
add ``loss_dp`` live in ``lavit_mm.models.det`` (mmdet), ``.seg`` (mmseg) and ``.cls``
(mmpretrain), each imported by the configs that use it."""
from .backbones import PVT, HierarchicalViT, LaViT, LaViTPlain, PVTv2, Swin

__all__ = ['HierarchicalViT', 'LaViT', 'LaViTPlain', 'PVT', 'PVTv2', 'Swin']
