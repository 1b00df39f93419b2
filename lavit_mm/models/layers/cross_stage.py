"""Cross-stage attention residual (docs/design.md; our low-rank head map).

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

import torch
import torch.nn as nn

from ...grid import HW
from .attention_state import AttentionState, pool_tokens


def concat_heads(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(1, 2).flatten(2)  # (B, G, N, d) -> (B, N, G*d)


class CrossStageResidual(nn.Module):

    def __init__(self, prev_heads: int, prev_head_dims: int, heads: int, rank: int = 16):
        super().__init__()
        if rank < 1:
            raise ValueError(f'cross_stage_rank must be >= 1, got {rank}')
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
