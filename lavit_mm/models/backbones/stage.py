"""One stage of the hierarchical backbone: patch embedding, position embedding (kinds that
have one), the blocks (VA, then LA), and the output norm.

The stage hands each block the attention of the block before it (``prev``) and, to its first
block, the cross-stage residual's extension; what a layer does with them is the layer's
business (``layers/kind.py``). For the DP loss, it lists each LA layer with the attention it
received, and the backbone computes the loss after the forward.
"""
import dataclasses
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

from ...grid import HW
from ..layers import (AttentionKind, AttentionState, CrossStageResidual, LayerArgs, PatchEmbed,
                      PatchMerging, PositionEmbedding, TransformerBlock, nlc_to_nchw)
from ..layers.cross_stage import inherited_attention
from .base import run_blocks
from .spec import StageSpec


class Stage(nn.Module):
    """Args:
        spec: the stage's sizes.
        kind: the attention kind, which also decides the patch embedding (Swin's merging
            after the first stage), the position table and which tokens feed the next stage.
        index: the stage's position (0 first).
        in_channels: channels of the stage's input map.
        layer_args: qkv bias, dropouts, norm and head mix of every attention layer (dims and
            heads come from ``spec``).
        drop_path_rates: one per block.
        pos_grid: token grid of the position table (kinds with one).
        token_grid: the stage's token grid at the size the kind sizes layer parameters for
            (``AttentionKind.token_grid``; dense LA maps), or None.
        cross_stage: (heads, per-head width, rank) of the residual from the previous stage's
            last attention, or None. Built after the blocks, so that a seeded model draws the
            blocks' initial values whether or not it has the residual.
        inherits: (heads, per-head width) of the previous stage's last attention, for a stage
            of LA layers only (``spec.num_va == 0``): its first layer starts from that
            attention (``layers/cross_stage.inherited_attention``).
        output_norm: LayerNorm (``norm_cfg``) on the stage's output, or none.
        shifted_patches: SPT in the patch embedding (``layers/embed.py``; first stage).
        overlap_patch_embed: PVT v2's overlapping patch embedding (``layers/embed.py``).
        conv_ffn: PVT v2's depthwise conv in every block's MLP (``layers/block.py``).
    """

    def __init__(self, spec: StageSpec, kind: AttentionKind, *, index: int, in_channels: int,
                 layer_args: LayerArgs, drop_path_rates: List[float], drop_rate: float,
                 act_cfg: dict, norm_cfg: dict, pos_grid: Optional[HW] = None,
                 token_grid: Optional[HW] = None,
                 cross_stage: Optional[Tuple[int, int, int]] = None,
                 inherits: Optional[Tuple[int, int]] = None,
                 output_norm: bool = False, shifted_patches: bool = False,
                 overlap_patch_embed: bool = False, conv_ffn: bool = False):
        super().__init__()
        if kind.patch_merging and index > 0:
            self.patch_embed = PatchMerging(in_channels, spec.embed_dims, norm_cfg)
        else:
            self.patch_embed = PatchEmbed(in_channels, spec.embed_dims, spec.patch_size,
                                          kind.options.patch_padding, norm_cfg,
                                          shifted_patches, overlap_patch_embed)
        self.pos_embed = PositionEmbedding(pos_grid, spec.embed_dims, drop_rate) \
            if kind.position_embedding else None
        self.pos_drop = nn.Dropout(drop_rate) if kind.embed_dropout and index == 0 else None
        args = dataclasses.replace(layer_args, dims=spec.embed_dims, num_heads=spec.num_heads,
                                   token_grid=token_grid)
        self.blocks = nn.ModuleList([
            TransformerBlock(
                spec.embed_dims,
                kind.less(args, spec, j) if spec.is_less_attention(j) else
                kind.vanilla(args, spec, j),
                spec.mlp_ratio, drop_rate, drop_path_rates[j], act_cfg, norm_cfg, conv_ffn)
            for j in range(spec.depth)
        ])
        self.cross_stage = CrossStageResidual(cross_stage[0], cross_stage[1], spec.num_heads,
                                              cross_stage[2]) if cross_stage else None
        self.norm = build_norm_layer(norm_cfg, spec.embed_dims)[1] if output_norm \
            else nn.Identity()
        self.norm_feeds_next = kind.norm_feeds_next
        self.inherits = inherits

    def attention_shape(self) -> Tuple[int, int]:
        """(heads, per-head q/k width) of the stage's last attention, without extensions.
        Each head-mixing LA layer widens the factors it hands on by the number of heads."""
        attn = self.blocks[-1].attn
        mixes = sum(getattr(b.attn, 'head_mix', None) is not None for b in self.blocks)
        own = self.inherits[1] if self.inherits else attn.head_dims
        return attn.num_heads, own * attn.num_heads ** mixes

    def forward(self, x: torch.Tensor, prev_stage: Optional[AttentionState] = None,
                with_cp: bool = False, states: Optional[list] = None,
                dp_inputs: Optional[list] = None):
        """x: (B, C_in, H, W) -> the next stage's input and this stage's output (both
        (B, C, H', W')) and the stage's last attention. ``prev_stage``: the previous stage's
        last attention (for the cross-stage residual). Each block's attention is appended to
        ``states``; each LA layer, with the attention it received and its grid, to
        ``dp_inputs`` (when given)."""
        x, hw = self.patch_embed(x)  # (B, N, C)
        if self.pos_embed is not None:
            x = self.pos_embed(x, hw)
        elif self.pos_drop is not None:
            x = self.pos_drop(x)
        state = None
        if self.inherits is not None:
            first = self.blocks[0].attn
            state = inherited_attention(prev_stage, hw, first.key_grid(hw), first.num_heads)
        extension = None
        if self.cross_stage is not None and prev_stage is not None and len(self.blocks):
            first = self.blocks[0].attn
            extension = self.cross_stage(prev_stage, hw, first.key_grid(hw))
        for x, state in run_blocks(self.blocks, x, hw, state, checkpoint=with_cp,
                                   extension=extension, dp_inputs=dp_inputs, states=states):
            pass  # the stage hands on the last block's tokens and attention
        out = nlc_to_nchw(self.norm(x), hw)  # (B, C, H', W')
        x_next = out if self.norm_feeds_next else nlc_to_nchw(x, hw)
        return x_next, out, state
