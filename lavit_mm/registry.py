"""The `lavit_mm` registry scope.

Configs of mmdet, mmseg and mmpretrain name our modules as ``type='lavit_mm.LaViT'``. Each
toolbox's ``MODELS`` is a child of mmengine's root registry; a scoped name is looked up in the
root's child with that scope, which is this registry. Its ``locations`` are imported lazily at
the first look-up, so importing ``lavit_mm`` imports no toolbox, and our names never shadow
mmdet's or mmseg's own ``PyramidVisionTransformer``/``SwinTransformer``.
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import Registry

MODELS = Registry(
    'model',
    parent=MMENGINE_MODELS,
    scope='lavit_mm',
    locations=['lavit_mm.models.backbones'])

OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope='lavit_mm',
    locations=['lavit_mm.engine.cpu_amp'])

HOOKS = Registry(
    'hook',
    parent=MMENGINE_HOOKS,
    scope='lavit_mm',
    locations=['lavit_mm.engine.epoch_seed'])
