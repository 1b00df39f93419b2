"""What both backbone families (hierarchical and plain) do to their weights: the shared part
of a fresh initialisation, loading the ``init_cfg`` checkpoint, and freezing modules."""
from typing import Iterable, Union

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model.weight_init import trunc_normal_

from ..checkpoint import load_pretrained


def init_linear_or_layer_norm(m: nn.Module) -> bool:
    """timm's rule for ``m``: a Linear gets truncated-normal weights (std 0.02) and a zero
    bias, a LayerNorm weight 1 and bias 0. Returns whether ``m`` was one of the two."""
    if isinstance(m, nn.Linear):
        trunc_normal_(m.weight, std=.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
        return True
    if isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
        return True
    return False


def load_init_cfg(backbone: nn.Module) -> None:
    """``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` (``type`` optional,
    as in mmdet's configs): load it with the report (``models/checkpoint.py``); any other
    ``init_cfg`` (None) does nothing."""
    init_cfg = backbone.init_cfg
    if isinstance(init_cfg, dict) and init_cfg.get('type', 'Pretrained') == 'Pretrained':
        load_pretrained(backbone, init_cfg['checkpoint'], prefix=init_cfg.get('prefix'),
                        logger=MMLogger.get_current_instance())


def freeze(parts: Iterable[Union[nn.Module, nn.Parameter]]) -> None:
    """Eval mode and no gradients for each of ``parts`` (modules, or parameters)."""
    for part in parts:
        if isinstance(part, nn.Parameter):
            part.requires_grad = False
            continue
        part.eval()
        for p in part.parameters():
            p.requires_grad = False
