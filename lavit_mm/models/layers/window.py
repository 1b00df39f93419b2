"""Swin-style (shifted) window attention: a Vanilla and a Less-Attention version.

The token map is padded (right/bottom, after the block's norm, as Swin does) to a multiple of
the window size M, optionally rolled by -M/2 (shifted windows, with Swin's -100 mask between
regions that the roll brought together), and split into M x M windows. Logits carry a learned
relative position bias. An LA layer reuses the window partition (and shift, and mask) of the
attention it transforms; its Theta/Psi are dense per-head (M^2 x M^2) maps, as in the paper,
identity-initialised. The rolled-region mask is not transformed: it is re-applied as is.

The kind in one file: its layers, its analysis read (windows spread over the key grid), its
options, its arch builders (Swin's widths, the ``-32px`` windows) and LaViT's window presets.
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_

from ...grid import HW
from .attention_state import AttentionBase, AttentionState, mix_heads
from .counter_random import Seed
from .dense_transform import DenseTokenMap
from .dp_loss import dp_loss_of_scores
from .kind import (AttentionKind, LayerArgs, LayerOptions, register_attention_kind,
                   with_less_attention)
from .less_attention import LessAttentionMixin
from .locality import as_logit_mask, own_token_blocked
from .options import option


def window_partition(x: torch.Tensor, M: int) -> torch.Tensor:
    B, H, W, C = x.shape
    x = x.view(B, H // M, M, W // M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, -1, M * M, C)  # (B, nW, M*M, C)


def window_reverse(windows: torch.Tensor, M: int, H: int, W: int) -> torch.Tensor:
    B, _, _, C = windows.shape
    x = windows.view(B, H // M, W // M, M, M, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)  # (B, H, W, C)


def relative_position_index(M: int) -> torch.Tensor:
    """(M^2, M^2) index into the (2M-1)^2 relative position table."""
    coords = torch.stack(torch.meshgrid(torch.arange(M), torch.arange(M), indexing='ij'))
    coords = coords.flatten(1)  # (2, M^2)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (M - 1)  # (M^2, M^2, 2)
    return rel[..., 0] * (2 * M - 1) + rel[..., 1]


def shifted_window_mask(H: int, W: int, M: int, shift: int, device) -> torch.Tensor:
    """(nW, 1, M^2, M^2): -100 between tokens that come from different regions after the
    roll, 0 elsewhere (Swin's mask)."""
    region = torch.zeros(1, H, W, 1, device=device)
    cuts = (slice(0, -M), slice(-M, -shift), slice(-shift, None))
    for i, (hs, ws) in enumerate((h, w) for h in cuts for w in cuts):
        region[:, hs, ws, :] = i
    region = window_partition(region, M).squeeze(-1)[0]  # (nW, M^2)
    diff = region[:, None, :] - region[:, :, None]
    return diff.ne(0).float().mul(-100.0).unsqueeze(1)


class WindowState(AttentionState):
    """An :class:`AttentionState` of windowed attention: q/k are (B, nW, heads, M^2, d); the
    logits add ``bias`` (heads, M^2, M^2), transformed by LA layers, and ``mask``
    (nW, 1, M^2, M^2), which is not."""

    def __init__(self, q, k, bias, mask, shift, padded_hw, own_dims):
        super().__init__(q, k, padded_hw, padded_hw, own_dims)
        self.bias, self.mask, self.shift = bias, mask, shift

    def detached(self) -> 'WindowState':
        return WindowState(self.q.detach(), self.k.detach(), self.bias.detach(), self.mask,
                           self.shift, self.hw_q, self.own_dims)

    def additive(self) -> torch.Tensor:
        bias = self.bias.to(self.q.dtype)
        return bias if self.mask is None else bias + self.mask.to(self.q.dtype)

    def logits(self, query_index=None) -> torch.Tensor:
        return self.q @ self.k.transpose(-2, -1) + self.additive()


class _WindowBase(AttentionBase):

    def __init__(self, args: LayerArgs, window_size: int):
        super().__init__(args.dims, args.num_heads, args.attn_drop, args.proj_drop)
        self.window_size = window_size

    def key_grid(self, hw: HW) -> HW:
        return hw

    def partition(self, x: torch.Tensor, hw: HW, shift: int):
        """(B, N, C) -> windows (B, nW, M^2, C) and the padded grid."""
        B, N, C = x.shape
        M = self.window_size
        x = x.view(B, hw[0], hw[1], C)
        x = F.pad(x, (0, 0, 0, -hw[1] % M, 0, -hw[0] % M))  # (B, Hp, Wp, C)
        if shift:
            x = torch.roll(x, (-shift, -shift), dims=(1, 2))
        return window_partition(x, M), (x.shape[1], x.shape[2])

    def merge(self, windows: torch.Tensor, hw: HW, padded: HW, shift: int) -> torch.Tensor:
        """windows (B, nW, M^2, C) -> tokens (B, N, C), undoing roll and padding."""
        x = window_reverse(windows, self.window_size, *padded)  # (B, Hp, Wp, C)
        if shift:
            x = torch.roll(x, (shift, shift), dims=(1, 2))
        x = x[:, :hw[0], :hw[1]]
        return x.reshape(x.shape[0], hw[0] * hw[1], -1)

    def query_probs(self, state: WindowState, index: torch.Tensor) -> torch.Tensor:
        """The window attention of the queries ``index`` (flat, on the padded grid) spread
        over the whole padded key grid (zero outside each query's window, shifts undone):
        (B, h, Q, Hp*Wp). Layers with and without shifted windows become comparable token
        by token."""
        M, s = self.window_size, state.shift
        Hp, Wp = state.hw_q
        region = None if state.mask is None else state.mask.ne(0)  # (nW, 1, M^2, M^2)
        probs = self.used_probs(state.logits().float(),
                                self.own_keys(state, state.q.device),
                                region)  # (B, nW, h, M^2, M^2)
        B, nW, h = probs.shape[:3]
        rr, cc = (index // Wp - s) % Hp, (index % Wp - s) % Wp  # rolled query coordinates
        win = (rr // M) * (Wp // M) + cc // M  # (Q,)
        pos = (rr % M) * M + cc % M
        rows = probs[:, win, :, pos]  # (Q, B, h, M^2): advanced indices split by a slice
        j = torch.arange(M * M, device=index.device)
        key_r = ((rr // M * M)[:, None] + j // M + s) % Hp  # (Q, M^2), original coordinates
        key_c = ((cc // M * M)[:, None] + j % M + s) % Wp
        key = (key_r * Wp + key_c)[None, None].expand(B, h, -1, -1)  # (B, h, Q, M^2)
        dense = probs.new_zeros(B, h, len(index), Hp * Wp)
        return dense.scatter_(-1, key, rows.permute(1, 2, 0, 3))  # (B, h, Q, Hp*Wp)

    def heads(self, t: torch.Tensor) -> torch.Tensor:
        B, nW, M2, _ = t.shape
        return t.view(B, nW, M2, self.num_heads, -1).transpose(2, 3)  # (B, nW, h, M^2, d)

    def own_keys(self, state: WindowState, device) -> torch.Tensor:
        return own_token_blocked(self.window_size ** 2, device)  # (M^2, M^2), in each window

    def masks(self, state: WindowState):
        """Swin's shifted-window mask and relative position bias, plus LSA's own key; the
        entries blocked for re-attention include the other regions of a shifted window."""
        mask, blocked = state.additive(), None  # (h or nW, h, M^2, M^2)
        if self.lsa:  # each token's own key in its window
            blocked = self.own_keys(state, state.q.device)
            mask = mask + as_logit_mask(blocked, mask.dtype)
        if self.reattention is not None and state.mask is not None:  # Swin's other regions
            region = state.mask.ne(0)  # (nW, 1, M^2, M^2)
            blocked = region if blocked is None else region | blocked
        return mask, blocked

    def merge_heads(self, out: torch.Tensor, state: WindowState, hw: HW) -> torch.Tensor:
        """(B, nW, h, M^2, d) -> tokens (B, N, C), windows merged, shift and padding undone."""
        return self.merge(out.transpose(2, 3).flatten(3), hw, state.hw_q, state.shift)


class WindowAttention(_WindowBase):
    """(Shifted-)window multi-head self-attention with relative position bias (Swin).
    ``prev`` is not used (a VA layer computes its own attention); windows take no
    cross-stage ``extension``."""

    def __init__(self, args: LayerArgs, window_size: int = 7, shift: bool = False):
        super().__init__(args, window_size)
        self.shift = window_size // 2 if shift else 0
        self.qkv = nn.Linear(args.dims, 3 * args.dims, bias=args.qkv_bias)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, args.num_heads))
        self.add_va_options(args)
        self.register_buffer('relative_position_index', relative_position_index(window_size),
                             persistent=False)

    def init_tables(self) -> None:
        """The backbone's from-scratch init of this layer's learned table (Swin's)."""
        trunc_normal_(self.relative_position_bias_table, std=.02)

    def position_bias(self) -> torch.Tensor:
        M2 = self.window_size ** 2
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(M2, M2, -1).permute(2, 0, 1)  # (h, M^2, M^2)

    def forward(self, x: torch.Tensor, hw: HW, prev: Optional[AttentionState] = None,
                extension=None):
        """x: (B, N, C) -> (B, N, C) and this layer's attention."""
        if extension is not None:
            raise ValueError('window attention takes no cross-stage residual (see docs)')
        windows, padded = self.partition(x, hw, self.shift)  # (B, nW, M^2, C)
        q, k, v = map(self.heads, self.qkv(windows).chunk(3, dim=-1))  # 3 x (B,nW,h,M^2,d)
        mask = shifted_window_mask(*padded, self.window_size, self.shift, x.device) \
            if self.shift else None
        state = WindowState(q * self.query_scale(), k, self.position_bias(), mask, self.shift,
                            padded, self.head_dims)
        return self.output(state, v, hw), state


class WindowLessAttention(LessAttentionMixin, _WindowBase):
    """Less-Attention on windows: ``A_l = Psi A_{l-1} Theta^T`` per window and head, on the
    previous layer's window partition; values from this layer's own input."""

    dp_loss_samples = False  # whole windows, no sampling

    def __init__(self, args: LayerArgs, window_size: int = 7):
        super().__init__(args, window_size)
        self.v = nn.Linear(args.dims, args.dims, bias=args.qkv_bias)
        grid, init = (window_size, window_size), args.options.la_init
        self.theta = DenseTokenMap(args.num_heads, grid, init=init, resizable=False)  # keys
        self.psi = DenseTokenMap(args.num_heads, grid, init=init, resizable=False)  # queries
        self.head_mix = nn.Parameter(torch.eye(args.num_heads)) \
            if args.options.la_head_mix else None

    def attend_with(self, state: WindowState, x: torch.Tensor, hw: HW):
        windows, _ = self.partition(x, hw, state.shift)
        v = self.heads(self.v(windows))  # (B, nW, h, M^2, d)
        return self.output(state, v, hw), state

    def dp_loss_of(self, state: WindowState, seed: Optional[Seed] = None,
                   margin: float = 1.0, form: str = 'ours') -> torch.Tensor:
        """The DP loss of a window attention, over every window (no sampling: ``seed`` is
        unused, for the signature the 'sra' layers share)."""
        return dp_loss_of_scores(state.logits(), form, margin)

    def transform(self, state: WindowState, hw: HW) -> WindowState:
        """``A_l = Psi A_{l-1} Theta^T`` (and the head mix) in factored form, on the
        previous layer's windows (same partition, shift and mask)."""
        q, k = self.psi(state.q), self.theta(state.k)
        bias = self.psi.weight @ state.bias @ self.theta.weight.transpose(-2, -1)  # (h,M2,M2)
        own = state.own_dims
        if self.head_mix is not None:  # DeepViT re-attention across heads
            q, k = mix_heads(q, k, self.head_mix)
            bias = torch.einsum('hg,gij->hij', self.head_mix, bias)
            own = q.shape[-1]
        return WindowState(q, k, bias, state.mask, state.shift, state.hw_q, own)


def swin_arch(embed_dims, depths, num_heads, mlp_ratio=4):
    """A Swin preset: widths doubling per stage, all layers Vanilla (window) Attention."""
    return dict(embed_dims=[embed_dims * 2 ** i for i in range(4)], depths=list(depths),
                num_heads=list(num_heads), mlp_ratios=[mlp_ratio] * 4, num_va=list(depths))


def small_input_windows(arch: dict) -> dict:
    """The ``-32px`` variant of a 'window' preset, for 28-64 px images.

    The ImageNet form (4x4 patches, windows of 7) puts a 32 px image on token grids of
    8/4/2/1: every stage fits in one padded 7x7 window, mostly padding. Here: 2x2 patches
    (grids 16/8/4/2 at 32 px, as the 'sra' ``-32px`` presets) and windows of 4: 16, 4 and 1
    windows of 16 tokens in stages 1-3, shifted by 2 every other layer. Stage 4's 2x2 map
    sits in one window padded to 4x4, as Swin pads any map (12 of its 16 keys are padding).
    """
    return dict(arch, patch_sizes=[2, 2, 2, 2], window_size=4)


@dataclass(frozen=True)
class WindowOptions(LayerOptions):
    """Options of attention='window' (flat backbone keywords), besides ``LayerOptions``.

    Attributes:
        window_size: the window side M (default: the arch's ``window_size``, else 7).
    ``patch_padding`` applies to the first stage's patch embedding (later stages merge 2x2
    patches); LSA's own key is the query's own token in its window.
    """
    window_size: int = option(7, 'positive_int')


@register_attention_kind
class ShiftedWindowKind(AttentionKind):
    """'window': Swin's (shifted) windows (conv patch embedding in the first stage, 2x2 patch
    merging after it, no position table, the tokens before the output norm feeding the next
    stage). VA layers alternate plain and shifted windows. Options: :class:`WindowOptions`.
    """
    name = 'window'
    Options = WindowOptions
    arch_keys = ('window_size', )
    default_norm_cfg = dict(type='LN')  # Swin's LayerNorm eps, 1e-5
    patch_merging = True
    embed_dropout = True
    norm_feeds_next = False
    toolbox_keywords = 'SwinTransformer'
    lavit_presets = {  # Swin-T/S/B widths, depths and heads, the first ceil(L/2) layers VA
        'tiny': with_less_attention(swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24])),
        'small': with_less_attention(swin_arch(96, [2, 2, 18, 2], [3, 6, 12, 24])),
        'base': with_less_attention(swin_arch(128, [2, 2, 18, 2], [4, 8, 16, 32])),
        'tiny-32px': with_less_attention(small_input_windows(
            swin_arch(96, [2, 2, 6, 2], [3, 6, 12, 24]))),
    }

    def vanilla(self, args: LayerArgs, stage, index: int) -> nn.Module:
        return WindowAttention(args, self.options.window_size, shift=index % 2 == 1)

    def less(self, args: LayerArgs, stage, index: int) -> nn.Module:
        return WindowLessAttention(args, self.options.window_size)
