"""PVT-style spatial-reduction attention (SRA): a Vanilla and a Less-Attention version.

Keys/values come from the tokens reduced by a stride-R conv + norm (R = ``sr_ratio``). The
reduced grid is ``floor(H/R) x floor(W/R)`` as in PVT, except that a map smaller than R is
padded up to one cell instead of failing.

The kind in one file: its layers, what a key cell means for LSA's own key and for the DP
loss's query sampling, its options, its per-stage arch key (``sr_ratios``) and its rules.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer

from ...grid import HW
from .attention_state import AttentionBase, AttentionState, mix_heads_split
from .counter_random import Seed, as_seed, counter_randint
from .dense_transform import DenseTokenMap, TransformOptions, check_la_transform
from .dp_loss import dp_loss_of_scores
from .embed import nchw_to_nlc, nlc_to_nchw
from .kind import (AttentionKind, CrossStageOptions, LayerArgs, LayerOptions,
                   register_attention_kind)
from .less_attention import LessAttentionMixin
from .options import LESS_ATTENTION, check_range, option
from .token_transform import TokenGridTransform


def at_least(size, low: int):
    """``max(size, low)`` for a grid size; a traced size (ONNX export) stays a traced value,
    where ``max`` would freeze the branch taken at the export size."""
    return size.clamp(min=low) if isinstance(size, torch.Tensor) else max(size, low)


class SpatialReduction(nn.Module):
    """Tokens (B, N, C) on grid hw -> reduced tokens (B, N_r, C) and their grid."""

    def __init__(self, dims: int, sr_ratio: int, norm_cfg: dict):
        super().__init__()
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dims, dims, sr_ratio, sr_ratio)
            self.norm = build_norm_layer(norm_cfg, dims)[1]

    def grid(self, hw: HW) -> HW:
        R = self.sr_ratio
        return (at_least(hw[0] // R, 1), at_least(hw[1] // R, 1))

    def forward(self, x: torch.Tensor, hw: HW) -> Tuple[torch.Tensor, HW]:
        if self.sr_ratio == 1:
            return x, hw
        R = self.sr_ratio
        x = nlc_to_nchw(x, hw)  # (B, C, H, W)
        x = F.pad(x, (0, at_least(R - hw[1], 0), 0, at_least(R - hw[0], 0)))  # maps below R
        x = self.sr(x)  # (B, C, H/R, W/R)
        hw_r = (x.shape[2], x.shape[3])
        return self.norm(nchw_to_nlc(x)), hw_r  # (B, N_r, C)


def own_cell_blocked(hw_q: HW, hw_k: HW, sr_ratio: int, device) -> torch.Tensor:
    """(N, N_k) bool: True at each query's own key cell of an R-reduced key grid."""
    (H, W), (Hk, Wk) = hw_q, hw_k
    rows = (torch.arange(H, device=device) // sr_ratio).clamp(max=Hk - 1)
    cols = (torch.arange(W, device=device) // sr_ratio).clamp(max=Wk - 1)
    cell = (rows[:, None] * Wk + cols[None, :]).flatten()  # (N,)
    return cell[:, None] == torch.arange(Hk * Wk, device=device)[None, :]


def sampled_cell_queries(hw_q: Tuple[int, int], hw_k: Tuple[int, int], stride: int,
                         seed: torch.Tensor) -> torch.Tensor:
    """One query per key cell of a spatial-reduction attention, at a random offset.

    Key cell (r, c) covers queries (r*stride + dy, c*stride + dx); the same random offset
    (dy, dx) is used for every cell, so the rows gathered form an ``N_r x N_r`` matrix whose
    "diagonal" is each query's own cell. Its expectation over offsets is the cell-averaged
    attention (docs/design.md, "DP loss"), at ``O(N_r^2)`` instead of ``O(N N_r)`` cost. The
    offset is a function of ``seed`` (an int64 scalar tensor from the backbone's training step
    and the layer; ``counter_random.py``), not of the global RNG, so a resumed run and a
    checkpointed re-forward draw the same offsets; the indices are on ``seed``'s device.
    """
    (H, W), (Hr, Wr) = hw_q, hw_k
    dy = counter_randint(seed * 2, min(stride, H), ())
    dx = counter_randint(seed * 2 + 1, min(stride, W), ())
    # a last, partial cell (coarse LA key grids round up) samples the map's last row/column
    rows = (torch.arange(Hr, device=seed.device) * stride + dy).clamp(max=H - 1)
    cols = (torch.arange(Wr, device=seed.device) * stride + dx).clamp(max=W - 1)
    return (rows[:, None] * W + cols[None, :]).flatten()  # (N_r,)


def sra_dp_loss(state: AttentionState, stride: int, seed: Seed, margin: float = 1.0,
                form: str = 'ours') -> torch.Tensor:
    """DP loss of a spatial-reduction attention (N queries x N_r keys) on the square map of
    one sampled query per key cell (:func:`sampled_cell_queries`), the mean over batch and
    heads. Taken one head at a time, the same mean: at detection size the maps of all heads
    together are tens of MB (8 x 1050^2 floats in stage 4 at 800 x 1333), and the loss's
    passes run over one head's map at a time (docs/experiments/benchmark_v2.md)."""
    index = sampled_cell_queries(state.hw_q, state.hw_k, stride, as_seed(seed, state.q.device))
    q, k = state.q[:, :, index], state.k  # (B, h, N_r, dq), (B, h, N_r, dq)
    losses = [dp_loss_of_scores(q[:, h:h + 1] @ k[:, h:h + 1].transpose(-2, -1), form, margin)
              for h in range(q.shape[1])]  # each of (B, 1, N_r, N_r)
    return torch.stack(losses).mean()


class _SRABase(AttentionBase):

    def __init__(self, args: LayerArgs, sr_ratio: int):
        super().__init__(args.dims, args.num_heads, args.attn_drop, args.proj_drop)
        self.reduce = SpatialReduction(args.dims, sr_ratio, args.norm_cfg)

    def key_grid(self, hw: HW) -> HW:
        return self.reduce.grid(hw)

    def own_keys(self, state: AttentionState, device) -> torch.Tensor:
        """Our definition: the key cell of the R x R reduction that holds the query,
        ``(r // R, c // R)`` (clamped to the last cell where the map is not a multiple of R);
        with R = 1 the token itself, the paper's diagonal."""
        return own_cell_blocked(state.hw_q, state.hw_k, self.reduce.sr_ratio, device)


class SRAttention(_SRABase):
    """Vanilla attention over spatially reduced keys/values (PVT v1).

    ``extension``: the cross-stage residual's (q_ext, k_ext), concatenated to q/k along the
    feature axis; ``prev`` is not used (a VA layer computes its own attention).
    """

    def __init__(self, args: LayerArgs, sr_ratio: int = 1):
        super().__init__(args, sr_ratio)
        self.q = nn.Linear(args.dims, args.dims, bias=args.qkv_bias)
        self.kv = nn.Linear(args.dims, 2 * args.dims, bias=args.qkv_bias)
        self.add_va_options(args)

    def forward(self, x: torch.Tensor, hw: HW, prev: Optional[AttentionState] = None,
                extension: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """x: (B, N, C) -> (B, N, C) and this layer's attention."""
        q = self.heads(self.q(x)) * self.query_scale()  # (B, h, N, d)
        x_r, hw_k = self.reduce(x, hw)  # (B, N_r, C)
        k, v = map(self.heads, self.kv(x_r).chunk(2, dim=-1))  # 2 x (B, h, N_r, d)
        if extension is not None:
            q = torch.cat([q, extension[0]], dim=-1)  # (B, h, N, d + e)
            k = torch.cat([k, extension[1]], dim=-1)  # (B, h, N_r, d + e)
        state = AttentionState(q, k, hw, hw_k, own_dims=self.head_dims)
        return self.output(state, v, hw), state


class SRLessAttention(LessAttentionMixin, _SRABase):
    """Less-Attention over spatially reduced values: no q/k projection; the logits are the
    previous layer's, transformed by Theta (key axis) and Psi (query axis): per-head k x k
    maps over the token grid (``transform='local'``, ``token_transform.py``) or the paper's
    dense maps sized for ``args.token_grid`` and its reduced key grid (``'dense'``,
    ``dense_transform.py``); ``args.options.la_init`` sets how they start.

    ``key_stride`` s > 1 (our option, off by default): the layer attends to an s-times coarser
    key grid. Theta, still a linear map along the key axis, then maps the VA key grid to the
    coarse one (its kernel centred on every s-th key; a following LA layer, already on the
    coarse grid, maps it to itself), and the values are the s x s means of the reduced tokens.
    The attention products of the layer shrink s^2-fold; see docs/performance.md.

    ``follows_va``: whether the layer comes right after a VA layer (receives attention on the
    VA key grid), for traces (ONNX export) only; None: unknown (see :meth:`theta_stride`).
    """

    def __init__(self, args: LayerArgs, sr_ratio: int = 1,
                 kernel_size: int = TransformOptions.la_kernel_size,
                 key_stride: int = 1, follows_va: Optional[bool] = None,
                 transform: str = TransformOptions.la_transform):
        super().__init__(args, sr_ratio)
        self.key_stride = key_stride
        self.follows_va = follows_va
        self.v = nn.Linear(args.dims, args.dims, bias=args.qkv_bias)
        heads, init = args.num_heads, args.options.la_init
        if transform == 'dense':
            if args.token_grid is None or key_stride != 1:
                raise ValueError('a dense LA layer needs LayerArgs.token_grid and key stride 1')
            self.theta = DenseTokenMap(heads, self.reduce.grid(args.token_grid), init=init)
            self.psi = DenseTokenMap(heads, args.token_grid, init=init)
        else:
            self.theta = TokenGridTransform(heads, kernel_size, init)  # along the key axis
            self.psi = TokenGridTransform(heads, kernel_size, init)  # along the query axis
        # DeepViT re-attention: mix the transformed logits across heads (identity init)
        self.head_mix = nn.Parameter(torch.eye(args.num_heads)) \
            if args.options.la_head_mix else None

    def key_grid(self, hw: HW) -> HW:
        s = self.key_stride
        # ceil(H_r / s), ceil(W_r / s), without negative operands: a trace (ONNX export) turns
        # the integer floor division of a negative number into a truncation
        return tuple((n + s - 1) // s for n in self.reduce.grid(hw))

    def coarse_values(self, x_r: torch.Tensor, hw_r: HW) -> torch.Tensor:
        """Reduced tokens (B, N_r, C) -> their s x s cell means (B, N_k, C)."""
        if self.key_stride == 1:
            return x_r
        grid = x_r.view(x_r.shape[0], *hw_r, -1).permute(0, 3, 1, 2)  # (B, C, H_r, W_r)
        grid = F.avg_pool2d(grid, self.key_stride, ceil_mode=True)  # (B, C, H_k, W_k)
        return nchw_to_nlc(grid)

    def attend_with(self, state: AttentionState, x: torch.Tensor, hw: HW):
        x_r, hw_r = self.reduce(x, hw)  # (B, N_r, C)
        v = self.heads(self.v(self.coarse_values(x_r, hw_r)))  # (B, h, N_k, d)
        return self.output(state, v, hw), state

    def dp_loss_of(self, state: AttentionState, seed: Seed, margin: float = 1.0,
                   form: str = 'ours') -> torch.Tensor:
        """The DP loss ``form`` of an attention on this layer's key grid (its queries sampled
        one per key cell, at offsets drawn from ``seed``: :func:`sampled_cell_queries`)."""
        return sra_dp_loss(state, self.reduce.sr_ratio * self.key_stride, seed, margin, form)

    def theta_stride(self, state: AttentionState, hw_k: HW) -> int:
        """``key_stride`` while ``state`` is on the VA key grid, 1 once on the coarse grid
        ``hw_k``. Where the two grids are equal (sides of 1) either stride gives the same
        result, but a trace (ONNX export) would freeze the choice made at the export size, so
        a traced layer goes by its place in the stage (``follows_va``) instead."""
        if torch.jit.is_tracing() and self.follows_va is not None:
            return self.key_stride if self.follows_va else 1
        return 1 if tuple(state.hw_k) == tuple(hw_k) else self.key_stride

    def transform(self, state: AttentionState, hw: HW) -> AttentionState:
        """Psi along the query axis, Theta along the key axis (strided onto the coarse key
        grid if the state is still on the VA grid), then the optional head mix."""
        hw_k = self.key_grid(hw)
        if tuple(hw) != tuple(state.hw_q) or \
                tuple(state.hw_k) not in (tuple(self.reduce.grid(hw)), hw_k):
            raise ValueError(f'LA layer got attention for grids {state.hw_q}/{state.hw_k} but '
                             f'its tokens are on {hw}/{self.reduce.grid(hw)}')
        q = self.psi(state.q, hw)  # (B, h, N, dq)
        k = self.theta(state.k, state.hw_k, self.theta_stride(state, hw_k))  # (B, h, N_k, dq)
        own = state.own_dims
        if self.head_mix is not None:  # (B, h, N, h*dq), (B, h, N_k, h*dq)
            q, k, own = mix_heads_split(q, k, own, self.head_mix)
        return AttentionState(q, k, hw, hw_k, own)


@dataclass(frozen=True)
class SRAOptions(LayerOptions, CrossStageOptions, TransformOptions):
    """Options of attention='sra', besides ``LayerOptions``: in ``attention=dict(type='sra',
    ...)`` and, those named ``la_*``, in ``less_attention=dict(...)`` without the prefix.

    Attributes:
        use_abs_pos_embed: the learned position tables (PVT v2 drops them and relies on its
            overlapping patch embedding and conv MLP for positions; an arch may set it).
        pretrain_img_size: the image size the position tables are defined for.
        cross_stage_residual, cross_stage_rank: :class:`CrossStageOptions`.
        la_transform, la_kernel_size: :class:`TransformOptions`; 'dense' is a per-head
            N x N map over the stage's queries and N_r x N_r over its keys, sized for
            ``la_map_size``.
        la_map_size: the (square) image size the dense maps are sized for (224 by default;
            the size you train at). 'dense' only.
        la_key_stride: LA layers attend to a key grid this many times coarser than their
            stage's VA layers (1: the same grid, as the paper; 2: a quarter of the attention
            products; docs/performance.md). 'local' only.
    LSA's own key here is the key cell holding the query (``locality.py``).
    """
    use_abs_pos_embed: bool = option(True, 'bool')
    pretrain_img_size: int = option(224, 'positive_int')
    la_map_size: int = option(224, 'positive_int', LESS_ATTENTION)
    la_key_stride: int = option(1, 'positive_int', LESS_ATTENTION)

    def check(self, owner, given):
        if not self.use_abs_pos_embed and 'pretrain_img_size' in given:
            raise ValueError(f'{owner}: attention.pretrain_img_size sizes the position tables, '
                             f'which use_abs_pos_embed=False leaves out: remove it')
        check_la_transform(owner, type(self), self.la_transform, given,
                           local_only=('la_key_stride', ), dense_only=('la_map_size', ))
        super().check(owner, given)


@register_attention_kind
class SpatialReductionKind(AttentionKind):
    """'sra': PVT's spatial-reduction attention in every stage (conv patch embedding, learned
    position table, normalised output feeding the next stage), with the cross-stage residual.
    Options: :class:`SRAOptions`; an arch may set ``use_abs_pos_embed`` (an arch-level key).
    """
    name = 'sra'
    Options = SRAOptions
    stage_keys = ('sr_ratios', )
    arch_keys = ('use_abs_pos_embed', )
    carries_attention = True
    toolbox_keywords = 'PyramidVisionTransformerV2'

    @property
    def position_embedding(self) -> bool:
        return self.options.use_abs_pos_embed

    def position_grid(self, stride: int) -> Tuple[int, int]:
        size = self.options.pretrain_img_size
        return (size // stride, size // stride)

    def token_grid(self, stride: int) -> Optional[Tuple[int, int]]:
        """With dense LA maps: the stage's token grid at ``la_map_size`` (the conv patch
        embeddings give ceil(size / stride) tokens a side)."""
        if self.options.la_transform != 'dense':
            return None
        side = -(-self.options.la_map_size // stride)
        return (side, side)

    @classmethod
    def check_stage(cls, owner: str, index: int, stage) -> None:
        check_range(owner, f'stage {index}: sr_ratios', stage.kind_keys['sr_ratios'], 1,
                    integer=True)

    def vanilla(self, args: LayerArgs, stage, index: int) -> nn.Module:
        return SRAttention(args, stage.kind_keys['sr_ratios'])

    def less(self, args: LayerArgs, stage, index: int) -> nn.Module:
        return SRLessAttention(args, stage.kind_keys['sr_ratios'], self.options.la_kernel_size,
                               self.options.la_key_stride,
                               # a stage of LA layers only starts on the coarse key grid
                               follows_va=index > 0 and not stage.is_less_attention(index - 1),
                               transform=self.options.la_transform)
