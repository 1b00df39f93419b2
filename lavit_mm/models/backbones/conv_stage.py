"""A convolution stage (CoAtNet's C stages): MBConv blocks in place of patch embedding and
attention, same input/output contract as :class:`~.stage.Stage`, so the stages after it and
the necks/heads see the same feature pyramid (widths and strides of the arch).

Downsampling (the stage's ``patch_size``): the first MBConv has stride 2 (1 for a patch size
of 1); the first stage adds a 3x3 conv stem (BatchNorm, GELU) with the remaining stride
(``patch_size / 2``: 2 for ImageNet presets, 1 for the -32px ones), as CoAtNet's S0 stem.
A convolution stage hands no attention on: the attention stage after it starts without a
cross-stage residual.
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer

from ..layers import MBConv, nchw_to_nlc, nlc_to_nchw
from ..layers.embed import check_image_channels
from .spec import StageSpec

CONV_NORM = dict(type='BN')


class ConvStem(nn.Module):
    """3x3 conv, BatchNorm, activation: (B, C_in, H, W) -> (B, C, H / stride, W / stride)."""

    def __init__(self, in_channels: int, dims: int, stride: int, act_cfg: dict):
        super().__init__()
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, dims, 3, stride, 1, bias=False)
        self.norm = build_norm_layer(CONV_NORM, dims)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_image_channels(x, self.in_channels)
        return self.act(self.norm(self.conv(x)))


class ConvStage(nn.Module):
    """Args:
        spec: the stage's sizes (``embed_dims``, ``depth``, ``patch_size``; heads, MLP ratio
            and ``num_va`` do not apply).
        index: the stage's position (0 first: it gets the stem).
        in_channels: channels of the stage's input map.
        drop_path_rates: one per block.
        output_norm: a ``norm_cfg`` norm on the output (channels), or none.
        norm_feeds_next: the next stage takes the normalised output (else the map before it).
    """

    def __init__(self, spec: StageSpec, *, index: int, in_channels: int,
                 drop_path_rates: List[float], act_cfg: dict, norm_cfg: dict,
                 output_norm: bool = False, norm_feeds_next: bool = True):
        super().__init__()
        p = spec.patch_size
        allowed = (1, 2, 4) if index == 0 else (1, 2)
        if p not in allowed:
            raise ValueError(f"stage {index}: a 'conv' stage downsamples by {allowed}, got "
                             f"patch size {p}: make it an 'attn' stage or change patch_sizes")
        if spec.depth < 1:
            raise ValueError(f"stage {index}: a 'conv' stage needs depth >= 1")
        stride = min(p, 2)
        if index == 0:
            self.patch_embed = ConvStem(in_channels, spec.embed_dims, max(p // 2, 1), act_cfg)
            in_channels = spec.embed_dims
        else:
            self.patch_embed = nn.Identity()
        self.pos_embed = None
        self.blocks = nn.ModuleList([
            MBConv(in_channels if j == 0 else spec.embed_dims, spec.embed_dims,
                   stride if j == 0 else 1, drop_path_rate=drop_path_rates[j], act_cfg=act_cfg,
                   norm_cfg=CONV_NORM) for j in range(spec.depth)
        ])
        self.norm = build_norm_layer(norm_cfg, spec.embed_dims)[1] if output_norm \
            else nn.Identity()
        self.norm_feeds_next = norm_feeds_next

    def forward(self, x: torch.Tensor, prev_stage=None, with_cp: bool = False,
                states: Optional[list] = None, dp_inputs: Optional[list] = None):
        """x: (B, C_in, H, W) -> (next stage's input, output, None): both (B, C, H', W');
        no attention to hand on."""
        x = self.patch_embed(x)
        for block in self.blocks:
            x = cp.checkpoint(block, x, use_reentrant=False) \
                if with_cp and x.requires_grad else block(x)
        if isinstance(self.norm, nn.Identity):
            return x, x, None
        out = nlc_to_nchw(self.norm(nchw_to_nlc(x)), x.shape[-2:])
        return (out if self.norm_feeds_next else x), out, None
