"""Parameters and FLOPs through mmengine's analysis tools.

mmengine's FlopAnalyzer (fvcore's counting: one multiply-add = one FLOP, the convention of
the PVT/Swin/LaViT papers) has no rule for ``aten::scaled_dot_product_attention``, which our
attention calls; we add one: ``B * heads * N_q * N_k * (d_qk + d_v)`` (q k^T, then P v).
"""
from typing import Sequence

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape

from .eval_mode import eval_mode


def sdpa_flop_jit(inputs, outputs):
    q, k, v = (get_shape(inputs[i]) for i in range(3))
    batch = 1
    for s in q[:-2]:
        batch *= s
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


class ClassificationForm(nn.Module):
    """Backbone (last stage) + global average pooling + linear head: what ImageNet numbers
    of hierarchical backbones count."""

    def __init__(self, backbone: nn.Module, num_classes: int = 1000):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.num_features[-1], num_classes)

    def forward(self, x):
        feat = self.backbone(x)[-1]  # (B, C, H, W)
        return self.head(feat.mean((2, 3)))


def count_params(model: nn.Module) -> int:
    return parameter_count(model)['']


def count_flops(model: nn.Module, shape: Sequence[int], attention_products: bool = True) -> int:
    """FLOPs (multiply-adds) of one forward of a (1, 3, H, W) input in eval mode (the model's
    modes are restored after).
    ``attention_products=False``: without our rule for the fused attention, i.e. what
    mmengine's ``get_model_complexity_info`` (mmdet's ``tools/analysis_tools/get_flops.py``)
    counts: it skips q k^T and P v (mmdet#4689)."""
    x = torch.zeros(1, 3, *shape)
    analyzer = FlopAnalyzer(model, (x, ))
    if attention_products:
        analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad(), eval_mode(model):
        return analyzer.total()
