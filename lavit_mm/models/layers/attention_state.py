"""The attention a layer hands to the next one, kept in factored form.

A Vanilla-Attention (VA) layer's pre-softmax logits are ``A = q @ k^T`` (the ``1/sqrt(d)``
scale is folded into ``q``). LaViT's Less-Attention (LA) layers transform ``A`` with linear
maps along its token axes: ``Theta`` along the key axis, ``Psi`` along the query axis. For such
maps ``Psi(Theta(A)) = (Psi q) @ (Theta k)^T`` exactly, so we carry ``(q, k)`` instead of the
``N x N_r`` logits: an LA layer transforms ``q`` (``N x d``) and ``k`` (``N_r x d``), never
materialises the logits, and still runs the fused ``scaled_dot_product_attention`` kernel.
A cross-stage residual extends ``q``/``k`` along the feature axis (see ``cross_stage.py``).
"""
import copy
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...grid import HW
from .locality import as_logit_mask, own_token_blocked
from .reattention import ReAttention


@dataclass
class AttentionState:
    q: torch.Tensor  # (B, heads, N, dq), scale folded in
    k: torch.Tensor  # (B, heads, N_r, dq)
    hw_q: HW  # query token grid, N = H * W
    hw_k: HW  # key token grid, N_r = H_r * W_r
    own_dims: int  # leading feature dims that are the layer's own (the rest: cross-stage)
    prefix: int = 0  # leading tokens off the grid (a plain ViT's class token): N = prefix + H*W

    def own(self) -> 'AttentionState':
        """The layer's own factors, without any cross-stage extension."""
        d = self.own_dims
        return AttentionState(self.q[..., :d], self.k[..., :d], self.hw_q, self.hw_k, d,
                              self.prefix)

    def detached(self) -> 'AttentionState':
        """The same attention, cut from the graph (the DP loss shapes only the LA transform,
        never the attention an LA layer inherits)."""
        return AttentionState(self.q.detach(), self.k.detach(), self.hw_q, self.hw_k,
                              self.own_dims, self.prefix)

    def logits(self, query_index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Materialised logits (B, heads, N or len(query_index), N_r): for losses/analysis."""
        q = self.q if query_index is None else self.q[:, :, query_index]
        return q @ self.k.transpose(-2, -1)


def _last_dim_contiguous(t: torch.Tensor) -> torch.Tensor:
    return t if t.stride(-1) == 1 else t.contiguous()


def attend(state: AttentionState, v: torch.Tensor, dropout_p: float = 0.,
           attn_mask: Optional[torch.Tensor] = None, reattention: Optional[nn.Module] = None,
           blocked: Optional[torch.Tensor] = None) -> torch.Tensor:
    """softmax(q k^T + attn_mask) v with the fused kernel.
    v: (..., heads, N_r, dv) -> (..., heads, N, dv).

    The fused CPU kernel takes 4-D, unit-stride inputs of equal q/k/v widths; otherwise
    PyTorch silently falls back to the explicit (materialising) path, 2-4x slower at detection
    size (``tools/benchmark.py``). So leading dims (windows) are folded into the batch, q/k/v
    made unit-stride, and when a cross-stage extension makes q/k wider than v, v is
    zero-padded and the padding sliced off the output.

    ``reattention`` (DeepViT, ``reattention.py``): the one explicit path, softmax then the
    module on the probabilities (``blocked``: bool, True where ``attn_mask`` excludes a key,
    set back to 0 after its norm), then dropout and the product with v.
    """
    q, k = state.q, state.k
    lead = q.shape[:-3]  # (B,) or (B, nW)
    if len(lead) > 1:
        if attn_mask is not None:  # broadcast to every window of every image
            attn_mask = attn_mask.expand(*lead, q.shape[-3], q.shape[-2], k.shape[-2])
            attn_mask = attn_mask.reshape(-1, *attn_mask.shape[-3:])
        if blocked is not None:
            blocked = blocked.expand(*lead, q.shape[-3], q.shape[-2], k.shape[-2])
            blocked = blocked.reshape(-1, *blocked.shape[-3:])
        q, k, v = (t.reshape(-1, *t.shape[-3:]) for t in (q, k, v))  # (B*nW, h, T, d)
    if reattention is not None:
        logits = q @ k.transpose(-2, -1)  # (B', h, N, N_r)
        if attn_mask is not None:
            logits = logits + attn_mask
        probs = reattention(logits.softmax(-1), blocked)
        out = F.dropout(probs, dropout_p) @ v  # (B', h, N, dv)
        return out.reshape(*lead, *out.shape[-3:])
    q, k, v = map(_last_dim_contiguous, (q, k, v))
    dv = v.shape[-1]
    if q.shape[-1] > dv:
        v = F.pad(v, (0, q.shape[-1] - dv))  # (..., N_r, dq)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                                         scale=1.0)
    return out[..., :dv].reshape(*lead, *out.shape[-3:-1], dv)


def mix_heads(q: torch.Tensor, k: torch.Tensor, mix: torch.Tensor):
    """Factors of the head-mixed logits ``A'[h] = sum_g mix[h, g] q_g k_g^T``.

    q: (..., G, N, d), k: (..., G, N_k, d), mix: (H, G) -> q': (..., H, N, G*d) and
    k': (..., H, N_k, G*d), one dot product over the concatenated per-head features.
    """
    H, G = mix.shape
    qm = mix.to(q.dtype)[:, :, None, None] * q.unsqueeze(-4)  # (..., H, G, N, d)
    q_mixed = qm.transpose(-3, -2).flatten(-2)  # (..., H, N, G*d)
    k_cat = k.transpose(-3, -2).flatten(-2).unsqueeze(-3)  # (..., 1, N_k, G*d)
    return q_mixed, k_cat.expand(*k_cat.shape[:-3], H, *k_cat.shape[-2:])


def mix_heads_split(q: torch.Tensor, k: torch.Tensor, own: int, mix: torch.Tensor):
    """:func:`mix_heads` of the own factors (the first ``own`` dims) and of a cross-stage
    extension separately, so the mixed factors keep the own part first. Returns q', k' and
    the new own width ``G * own``."""
    q_own, k_own = mix_heads(q[..., :own], k[..., :own], mix)
    if q.shape[-1] == own:
        return q_own, k_own, q_own.shape[-1]
    q_ext, k_ext = mix_heads(q[..., own:], k[..., own:], mix)
    return (torch.cat([q_own, q_ext], -1), torch.cat([k_own, k_ext], -1), q_own.shape[-1])


def tokens_to_grid(t: torch.Tensor, hw: HW) -> torch.Tensor:
    """Per-head tokens (B, h, N, d) -> a channels-last grid (B, h*d, H, W) (channel = head-major
    g*d + i). Free when ``t`` is the head view of (B, N, h*d) features, as projections give."""
    B, h, N, d = t.shape
    t = t.transpose(1, 2).reshape(B, hw[0], hw[1], h * d)  # (B, H, W, h*d)
    return t.permute(0, 3, 1, 2)  # (B, h*d, H, W), channels-last memory


def grid_to_tokens(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, h*d, H, W) -> (B, h, H*W, d) with a unit-stride feature axis."""
    B, hd, H, W = t.shape
    t = t.permute(0, 2, 3, 1).reshape(B, H * W, heads, hd // heads)  # (B, N, h, d)
    return t.transpose(1, 2)  # (B, h, N, d)


def pool_tokens(t: torch.Tensor, hw: HW, out_hw: HW) -> torch.Tensor:
    """Average-pool per-head token features (B, h, H*W, d) from grid ``hw`` to ``out_hw``.

    While traced (ONNX export), the grid sizes are traced values: the equal-grid shortcut
    would be frozen at the export size, and ``F.adaptive_avg_pool2d`` exports only for a
    constant output size, so the pooling runs as :func:`adaptive_avg_pool2d_traceable`
    instead. Eager PyTorch always takes the path below it."""
    if torch.jit.is_tracing():
        pooled = adaptive_avg_pool2d_traceable(tokens_to_grid(t, hw), out_hw)
        return grid_to_tokens(pooled, t.shape[1])
    if tuple(hw) == tuple(out_hw):
        return t
    pooled = F.adaptive_avg_pool2d(tokens_to_grid(t, hw), out_hw)
    return grid_to_tokens(pooled, t.shape[1])


def adaptive_pooling_matrix(size, out_size, like: torch.Tensor) -> torch.Tensor:
    """(out_size, size) averaging matrix of PyTorch's adaptive pooling bins: row i averages
    inputs ``[floor(i * size / out_size), ceil((i + 1) * size / out_size))``. Sizes may be
    ints or traced 0-dim tensors; ``like`` gives the dtype and device."""
    i = torch.arange(out_size, device=like.device)  # (out,)
    start = i * size // out_size
    end = ((i + 1) * size + out_size - 1) // out_size
    j = torch.arange(size, device=like.device)  # (size,)
    inside = (j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])  # (out, size)
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def adaptive_avg_pool2d_traceable(grid: torch.Tensor, out_hw: HW) -> torch.Tensor:
    """``F.adaptive_avg_pool2d(grid, out_hw)`` as two matrix products, which export to ONNX
    with sizes that depend on the input (equal up to float rounding, not bitwise).
    grid: (B, C, H, W) -> (B, C, H', W')."""
    rows = adaptive_pooling_matrix(grid.shape[-2], out_hw[0], grid)  # (H', H)
    cols = adaptive_pooling_matrix(grid.shape[-1], out_hw[1], grid)  # (W', W)
    return rows @ grid @ cols.transpose(0, 1)  # (B, C, H', W')


class AttentionBase(nn.Module):
    """What every attention kind has: heads, the folded scale, the output projection and the
    dropouts. ``key_grid(hw)``: the key grid the layer attends to for queries on ``hw``.

    VA layers may add the options of ``LayerOptions`` (:meth:`add_va_options`): LSA's learnable
    temperature (which then replaces the fixed scale, :meth:`query_scale`) and own-key mask,
    and DeepViT's re-attention module.
    """
    is_less_attention = False

    def __init__(self, dims: int, num_heads: int, attn_drop: float, proj_drop: float):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f'embed dims {dims} are not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.head_dims = dims // num_heads
        self.scale = self.head_dims ** -0.5
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dims, dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.lsa = False  # mask each query's own key (the kind defines it; locality.py)
        self.register_parameter('temperature', None)  # LSA's learnable softmax temperature
        self.register_module('reattention', None)  # DeepViT re-attention (reattention.py)

    def add_va_options(self, args) -> None:
        """LSA and re-attention, as ``args.options`` (a ``LayerArgs``'s ``LayerOptions``)
        asks; VA layers call this."""
        self.lsa = bool(args.options.lsa)
        if args.options.lsa:
            self.temperature = nn.Parameter(torch.tensor(float(self.scale)))
        if args.options.reattention:
            self.reattention = ReAttention(self.num_heads)

    def query_scale(self):
        """The factor folded into q: LSA's learnable temperature, else ``1/sqrt(d)``."""
        return self.scale if self.temperature is None else self.temperature

    def dropout_p(self) -> float:
        return self.attn_drop if self.training else 0.

    def key_grid(self, hw: HW) -> HW:
        raise NotImplementedError

    # ------------------------------------------------------------- attend, merge, project
    def heads(self, t: torch.Tensor) -> torch.Tensor:
        """Tokens (B, N, C) -> heads (B, h, N, d); windows split (B, nW, M^2, C)."""
        B, N, _ = t.shape
        return t.view(B, N, self.num_heads, self.head_dims).transpose(1, 2)

    def own_keys(self, state: AttentionState, device) -> torch.Tensor:
        """LSA: each query's own key, bool (N, N_k): the kind's locality rule. By default
        the query's own token, which needs keys on the query grid (N == N_k); a kind whose
        keys are elsewhere (reduced cells, windows) overrides this."""
        n, n_k = state.q.shape[-2], state.k.shape[-2]
        if n != n_k:
            raise NotImplementedError(f'{type(self).__name__}: {n} queries over {n_k} keys: '
                                      f'LSA needs the kind to say which key is a query\'s '
                                      f'own (override own_keys)')
        return own_token_blocked(n, device)

    def masks(self, state: AttentionState):
        """(additive logit mask, entries it excludes) for :func:`attend`: LSA's own keys
        (with LSA only), else (None, None); windows add Swin's shifted regions."""
        if not self.lsa:
            return None, None
        blocked = self.own_keys(state, state.q.device)
        return as_logit_mask(blocked, state.q.dtype), blocked

    def merge_heads(self, out: torch.Tensor, state: AttentionState, hw: HW) -> torch.Tensor:
        """The attended values (B, h, N, d) -> tokens (B, N, C)."""
        B, h, N, d = out.shape
        return out.transpose(1, 2).reshape(B, N, h * d)

    def output(self, state: AttentionState, v: torch.Tensor, hw: HW) -> torch.Tensor:
        """Attend with ``state`` over the values ``v`` (heads split), merge the heads,
        project: the one path of every kind, VA and LA layers alike."""
        mask, blocked = self.masks(state)
        out = attend(state, v, self.dropout_p(), mask, self.reattention, blocked)
        return self.proj_drop(self.proj(self.merge_heads(out, state, hw)))

    def used_probs(self, logits: torch.Tensor, own_key: Optional[torch.Tensor] = None,
                   other_blocked: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The probabilities this layer attends with, from its logits (..., h, Q, K), for
        analysis: LSA's own-key mask (``own_key``, bool, broadcastable; used only with LSA)
        and re-attention (in eval mode) where the layer has them. ``other_blocked``: entries
        a mask already excludes (Swin's regions), for re-attention."""
        if self.lsa:
            logits = logits + as_logit_mask(own_key, logits.dtype)
        probs = logits.softmax(-1)
        if self.reattention is None:
            return probs
        blocked = own_key if self.lsa else None
        if other_blocked is not None:
            blocked = other_blocked if blocked is None else blocked | other_blocked
        lead = probs.shape[:-3]
        flat = probs.reshape(-1, *probs.shape[-3:])  # (B', h, Q, K)
        if blocked is not None:
            blocked = blocked.expand(probs.shape).reshape(flat.shape)
        # eval-mode re-attention (BatchNorm's running statistics) on a float copy: an analysis
        # call leaves the layer's own module, its dtype and its mode as they are
        reattention = copy.deepcopy(self.reattention).float().eval()
        return reattention(flat.float(), blocked).reshape(*lead, *flat.shape[-3:])

    def query_probs(self, state: AttentionState, index: torch.Tensor) -> torch.Tensor:
        """Analysis: the probabilities with which the grid queries ``index`` (flat positions
        on ``state.hw_q``) attend, over every key of the layer: (B, h, Q, prefix + keys), as
        the layer uses them (:meth:`used_probs`). By default the rows of the layer's logits
        (keys on one grid, ``state.prefix`` leading tokens); a kind whose state is laid out
        otherwise (windows) overrides this."""
        rows = index + state.prefix
        own = self.own_keys(state, index.device)[rows] if self.lsa else None  # (Q, N_k)
        return self.used_probs(state.logits(rows).float(), own)  # (B, h, Q, N_k)
