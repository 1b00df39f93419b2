"""Cross-stage attention residual (LAVIT.md, default 5).

The last attention of stage m-1 is pooled to stage m's query grid (2x2 when the stride
doubles) and key grid (equal when R halves; adaptive pooling otherwise), its heads mapped
H_{m-1} -> H_m by a zero-initialised matrix M, and added to the logits of stage m's first VA
layer:  ``A_m[h] += sum_g M[h, g] (P_q q_g)(P_k k_g)^T``.

In factored form that sum is one dot product over concatenated features, so the residual is
an *extension* of q/k (``H_{m-1} * d_{m-1}`` extra dims) and the layer keeps the fused kernel:
``q_ext[h] = [M[h,0] P_q q_0, ..., M[h,G-1] P_q q_{G-1}]``, ``k_ext[h] = [P_k k_0, ...]``.

Our choice: the residual carries the previous stage's *own* factors only (not the extension
that stage itself received), so the extra width stays one stage deep instead of compounding.
Zero init keeps a fresh model identical to the plain baseline.
"""
from typing import Tuple

import torch
import torch.nn as nn

from .attention_state import AttentionState, mix_heads, pool_tokens

HW = Tuple[int, int]


class CrossStageResidual(nn.Module):

    def __init__(self, prev_heads: int, heads: int):
        super().__init__()
        self.head_mix = nn.Parameter(torch.zeros(heads, prev_heads))  # M, zero init

    def forward(self, prev: AttentionState, hw_q: HW, hw_k: HW):
        prev = prev.own()
        q = pool_tokens(prev.q, prev.hw_q, hw_q)  # (B, G, N, d')
        k = pool_tokens(prev.k, prev.hw_k, hw_k)  # (B, G, N_r, d')
        return mix_heads(q, k, self.head_mix)  # (B, H, N, G*d'), (B, H, N_r, G*d')
