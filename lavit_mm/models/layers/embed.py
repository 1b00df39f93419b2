"""Token embeddings: patch embedding (conv + norm) and a resizable absolute position table."""
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model.weight_init import trunc_normal_

from ...grid import HW


def nchw_to_nlc(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, H*W, C)


def nlc_to_nchw(x: torch.Tensor, hw: HW) -> torch.Tensor:
    """(B, H*W, C) -> (B, C, H, W), a channels-last view with canonical strides. (The
    former ``transpose(1, 2).reshape(...)`` gave a batch of 1 a batch stride of C, which
    makes oneDNN's convolutions copy the map to NCHW first: 3x slower depthwise convs at
    800x1333, docs/performance.md.)"""
    B, N, C = x.shape
    return x.reshape(B, hw[0], hw[1], C).permute(0, 3, 1, 2)


def check_image_channels(x: torch.Tensor, in_channels: int) -> None:
    """Refuses a backbone input that is not (B, in_channels, H, W), naming the fix."""
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(
            f'expected an input of shape (B, {in_channels}, H, W), got '
            f'{tuple(x.shape)}: convert the images to {in_channels} channels, or build '
            f'the backbone with in_channels={x.shape[1] if x.dim() == 4 else "?"}')


class ShiftedPatchProjection(nn.Module):
    """Shifted Patch Tokenization (SPT; Lee, Lee and Song, 2021) as a patch projection:
    (B, C, H, W) -> (B, E, H/p, W/p), like the stride-p conv it replaces.

    The image is concatenated with its four diagonal shifts by half a patch (``p // 2``
    pixels, zero fill; 5C channels), cut into p x p patches, each flattened (5C p^2 values,
    channel-major), normalised by a LayerNorm and projected by a linear map to E.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int, padding: int = 0):
        super().__init__()
        self.shift = patch_size // 2
        if self.shift < 1:
            raise ValueError(f'spt shifts by half a patch and the first patch size is '
                             f'{patch_size}: use a first-stage patch size >= 2, or spt=False')
        self.patch_size, self.padding = patch_size, padding
        features = 5 * in_channels * patch_size ** 2
        self.token_norm = nn.LayerNorm(features)
        self.linear = nn.Linear(features, embed_dims)

    def shifted(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 5C, H, W): the image, then shifted right-down, left-down,
        right-up, left-up by ``shift`` pixels."""
        s = self.shift
        pads = ((s, -s, s, -s), (-s, s, s, -s), (s, -s, -s, s), (-s, s, -s, s))
        return torch.cat([x] + [F.pad(x, pad) for pad in pads], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        H = (x.shape[2] + 2 * self.padding - p) // p + 1
        W = (x.shape[3] + 2 * self.padding - p) // p + 1
        patches = F.unfold(self.shifted(x), p, padding=self.padding, stride=p)  # (B, 5Cp^2, N)
        tokens = self.linear(self.token_norm(patches.transpose(1, 2)))  # (B, N, E)
        return nlc_to_nchw(tokens, (H, W))  # (B, E, H/p, W/p)


class PatchEmbed(nn.Module):
    """Patch embedding: a stride-``patch_size`` conv, then a norm.

    Args:
        padding: ``'corner'`` pads the right/bottom border up to a multiple of the patch size
            (no pixel is dropped); an int is the conv's own padding (``0`` floors the output
            size, as mmdet's PVT v1 does).
        shifted_patches: SPT (:class:`ShiftedPatchProjection`) in place of the conv.
        overlap: PVT v2's overlapping patch embedding: a (2p-1) x (2p-1) conv at stride p
            with padding p-1 (7/4/3 for p=4, 3/2/1 for p=2), so neighbouring patches share
            pixels and a side of n gives ceil(n/p) tokens. Sets the padding itself.
    """

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int,
                 padding: Union[str, int] = 'corner', norm_cfg=dict(type='LN'),
                 shifted_patches: bool = False, overlap: bool = False):
        super().__init__()
        if overlap:
            if shifted_patches:
                raise ValueError('overlap_patch_embed and spt both define the first patch '
                                 'embedding: choose one')
            padding = patch_size - 1
        if padding != 'corner' and (isinstance(padding, bool) or not isinstance(padding, int)
                                    or padding < 0):
            raise ValueError(f"patch_padding must be 'corner' or an int >= 0, got {padding!r}")
        self.in_channels = in_channels
        self.patch_size = patch_size
        self.kernel_size = 2 * patch_size - 1 if overlap else patch_size
        self.padding = padding
        conv_pad = padding if isinstance(padding, int) else 0
        self.proj = ShiftedPatchProjection(in_channels, embed_dims, patch_size, conv_pad) \
            if shifted_patches else \
            nn.Conv2d(in_channels, embed_dims, self.kernel_size, patch_size, conv_pad)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg else nn.Identity()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, HW]:
        check_image_channels(x, self.in_channels)
        H, W = x.shape[-2:]
        p = self.patch_size
        if self.padding == 'corner':
            x = F.pad(x, (0, -W % p, 0, -H % p))
        elif H + 2 * self.padding < self.kernel_size or W + 2 * self.padding < self.kernel_size:
            k = self.kernel_size
            raise ValueError(f'a {H}x{W} map is smaller than one {k}x{k} patch')
        x = self.proj(x)  # (B, C, H/p, W/p)
        hw = (x.shape[2], x.shape[3])
        return self.norm(nchw_to_nlc(x)), hw  # (B, N, C)


class PositionEmbedding(nn.Module):
    """A learned absolute position table for a ``grid`` of tokens, bilinearly resized to the
    actual token grid (as mmdet's PVT does), so any input size works."""

    def __init__(self, grid: HW, embed_dims: int, drop_rate: float = 0.):
        super().__init__()
        self.grid = tuple(grid)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], embed_dims))
        self.drop = nn.Dropout(drop_rate)

    def init_tables(self) -> None:
        """The backbone's from-scratch init of the table (PVT's)."""
        trunc_normal_(self.pos_embed, std=.02)

    def resized(self, hw: HW) -> torch.Tensor:
        if torch.jit.is_tracing():  # ONNX export: resize for the traced size, whatever it is
            return self._resize(hw)  # (resizing to the table's own grid returns it exactly)
        if tuple(hw) == self.grid:
            return self.pos_embed
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            return self._resize(hw)  # compiled: fused into the graph, no host-side cache
        # eager inference: one resize per size, reused until the table changes (its version
        # counter moves on every in-place update: optimizer steps, load_state_dict)
        p = self.pos_embed
        key = (tuple(hw), p._version, p.dtype, p.device, p.data_ptr())
        if getattr(self, '_cache_key', None) != key:
            self._cache_key, self._cache = key, self._resize(hw)
        return self._cache

    def _resize(self, hw: HW) -> torch.Tensor:
        table = nlc_to_nchw(self.pos_embed, self.grid)  # (1, C, h0, w0)
        table = F.interpolate(table, size=hw, mode='bilinear', align_corners=False)
        return nchw_to_nlc(table)  # (1, H*W, C)

    def forward(self, x: torch.Tensor, hw: HW) -> torch.Tensor:
        return self.drop(x + self.resized(hw))


class PatchMerging(nn.Module):
    """Swin's 2x2 patch merging: concatenate each 2x2 neighbourhood (4C), norm, then a linear
    map to ``out_dims`` without bias. Odd sizes are padded right/bottom.

    The 4C features are ordered as ``nn.Unfold`` orders them (channel-major: c*4 + position),
    the layout of mmdet's/mmcv's PatchMerging; official Swin checkpoints are reordered on
    conversion (``lavit_mm.models.convert``).
    """

    def __init__(self, in_dims: int, out_dims: int, norm_cfg=dict(type='LN')):
        super().__init__()
        self.in_channels = in_dims
        self.norm = build_norm_layer(norm_cfg, 4 * in_dims)[1] if norm_cfg else nn.Identity()
        self.reduction = nn.Linear(4 * in_dims, out_dims, bias=False)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, HW]:
        H, W = x.shape[-2:]
        x = F.pad(x, (0, W % 2, 0, H % 2))  # (B, C, H', W') even
        hw = (x.shape[2] // 2, x.shape[3] // 2)
        x = F.unfold(x, kernel_size=2, stride=2).transpose(1, 2)  # (B, N, 4C)
        return self.reduction(self.norm(x)), hw  # (B, N, C_out)


def resize_pos_embed(table: torch.Tensor, src: HW, dst: HW, mode: str,
                     extra: int) -> torch.Tensor:
    """A (1, extra + H*W, C) table on grid ``src`` -> on grid ``dst`` (the extra tokens'
    entries kept, the grid part interpolated), as mmpretrain resizes it."""
    if tuple(src) == tuple(dst):
        return table
    grid = table[:, extra:].reshape(1, *src, -1).permute(0, 3, 1, 2)  # (1, C, H, W)
    grid = F.interpolate(grid.float(), size=tuple(dst), align_corners=False, mode=mode)
    grid = grid.flatten(2).transpose(1, 2).to(table.dtype)  # (1, H'*W', C)
    return torch.cat([table[:, :extra], grid], dim=1)
