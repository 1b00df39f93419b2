"""A pre-norm transformer block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``.

The attention module decides the kind (VA/LA, SRA/window); the block is the same for all.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.drop import DropPath

from ...grid import HW
from .embed import nchw_to_nlc, nlc_to_nchw


class Mlp(nn.Module):
    """fc1, (a depthwise 3x3 conv over the token grid), activation, fc2.

    Args:
        conv: PVT v2's convolutional FFN: a depthwise 3x3 conv (with bias) on the hidden
            features, between fc1 and the activation (mmdet's ``use_conv_ffn``). It gives the
            tokens their positions, in place of a position table.
    """

    def __init__(self, dims: int, hidden_dims: int, act_cfg=dict(type='GELU'), drop=0.,
                 conv: bool = False):
        super().__init__()
        self.fc1 = nn.Linear(dims, hidden_dims)
        self.dwconv = nn.Conv2d(hidden_dims, hidden_dims, 3, 1, 1, groups=hidden_dims) \
            if conv else None
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Linear(hidden_dims, dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, hw: Optional[HW] = None) -> torch.Tensor:
        """x: (B, N, C) on token grid ``hw`` (needed with ``conv``) -> (B, N, C)."""
        x = self.fc1(x)  # (B, N, hidden)
        if self.dwconv is not None:
            x = nchw_to_nlc(self.dwconv(nlc_to_nchw(x, hw)))
        return self.drop(self.fc2(self.drop(self.act(x))))  # (B, N, C)


class TransformerBlock(nn.Module):
    """Args:
        conv_ffn: the MLP's depthwise conv (:class:`Mlp`).
    """

    def __init__(self, dims: int, attn: nn.Module, mlp_ratio: float, drop_rate=0.,
                 drop_path_rate=0., act_cfg=dict(type='GELU'), norm_cfg=dict(type='LN'),
                 conv_ffn: bool = False):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, dims)[1]
        self.attn = attn
        self.norm2 = build_norm_layer(norm_cfg, dims)[1]
        self.mlp = Mlp(dims, int(dims * mlp_ratio), act_cfg, drop_rate, conv_ffn)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    @property
    def is_less_attention(self) -> bool:
        return getattr(self.attn, 'is_less_attention', False)

    def forward(self, x, hw, prev=None, extension=None):
        """x: (B, N, C) -> (B, N, C) and this layer's attention state. ``prev``/``extension``
        go to the attention (``layers/kind.py`` states the call)."""
        y, state = self.attn(self.norm1(x), hw, prev=prev, extension=extension)
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x), hw))
        return x, state
