"""Attention across stages: the cross-stage residual (docs/design.md; our low-rank head map)
and the attention a stage of LA layers only inherits.

The last attention of stage m-1, ``A'_g = q'_g k'_g^T`` per head g, is pooled to stage m's
query grid (2x2 when the stride doubles) and key grid (equal when R halves; adaptive pooling
otherwise), and added to the logits of stage m's first VA layer through a learned rank-r
bilinear map of the previous heads:

    A_m[h] += (P_q q') U_h  ((P_k k') V_h)^T,      q', k': all G previous heads concatenated

``U_h``, ``V_h`` are (G d') x r. In factored form the residual is an *extension* of q/k by r
dims, so the layer keeps the fused kernel. Our choice: r = 16 (``cross_stage_rank``).
A full head mix ``sum_g M[h,g] A'_g`` is the special case r = G d', U_h = blockdiag(M[h,g] I);
it widened q/k by G d' (64/128/320 dims in LaViT-S stages 2/3/4, i.e. 2-6x the attention
cost of those layers at 800x1333); r = 16 costs +25% on three layers (``tools/benchmark.py``).

``U`` is zero-initialised, so a fresh model is identical to the plain baseline; ``V`` starts
random (scaled so ``k' V_h`` keeps ``k'``'s magnitude) so that ``U`` receives gradients.
The residual carries the previous stage's *own* factors only (not the extension that stage
itself received), so the extra width stays one stage deep instead of compounding.
"""
import math
from typing import List

import torch
import torch.nn as nn

from ...grid import HW
from .attention_state import AttentionState, pool_tokens


DEFAULT_RANK = 16  # r, for kinds that take the residual without a cross_stage_rank option


def concat_heads(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(1, 2).flatten(2)  # (B, G, N, d) -> (B, N, G*d)


class CrossStageResidual(nn.Module):

    def __init__(self, prev_heads: int, prev_head_dims: int, heads: int,
                 rank: int = DEFAULT_RANK):
        super().__init__()
        width = prev_heads * prev_head_dims
        self.query_map = nn.Parameter(torch.zeros(heads, width, rank))  # U, zero init
        self.key_map = nn.Parameter(torch.randn(heads, width, rank) / math.sqrt(width))  # V

    def forward(self, prev: AttentionState, hw_q: HW, hw_k: HW):
        """-> q extension (B, H, N, r) and k extension (B, H, N_r, r)."""
        prev = prev.own()
        q = concat_heads(pool_tokens(prev.q, prev.hw_q, hw_q))  # (B, N, G*d')
        k = concat_heads(pool_tokens(prev.k, prev.hw_k, hw_k))  # (B, N_r, G*d')
        q_ext = torch.einsum('bnc,hcr->bhnr', q, self.query_map.to(q.dtype))  # (B, H, N, r)
        k_ext = torch.einsum('bnc,hcr->bhnr', k, self.key_map.to(k.dtype))  # (B, H, N_r, r)
        return q_ext, k_ext


def inherited_heads(prev_heads: int, heads: int) -> List[int]:
    """The previous stage's head each of ``heads`` heads inherits (our choice): head h takes
    head floor(h G / H), so the G previous heads are spread in order over the H new ones
    (1 -> 2 -> 5 -> 8 in PVT widths: each new head descends from one old head)."""
    return [h * prev_heads // heads for h in range(heads)]


def inherited_attention(prev: AttentionState, hw_q: HW, hw_k: HW, heads: int) -> AttentionState:
    """The attention the first layer of a stage of LA layers only starts from: the previous
    stage's last attention (its own factors), average-pooled onto this stage's query grid and
    key grid, and spread over this stage's heads (:func:`inherited_heads`). Pooling is linear,
    so in factored form ``(P_q q')(P_k k')^T = P_q A' P_k^T``: the pooled logits, never
    materialised. No parameters: the LA layer's Theta/Psi (identity-init) learn from it."""
    prev = prev.own()
    index = torch.tensor(inherited_heads(prev.q.shape[1], heads), device=prev.q.device)
    q = pool_tokens(prev.q, prev.hw_q, hw_q).index_select(1, index)  # (B, H, N, d')
    k = pool_tokens(prev.k, prev.hw_k, hw_k).index_select(1, index)  # (B, H, N_k, d')
    return AttentionState(q, k, hw_q, hw_k, prev.own_dims)
