"""Diagonality Preserving (DP) loss on Less-Attention attention maps.

Paper: ``L_DP = sum_ij |A_ij - A_ji| + sum_i ((N-1) A_ii - sum_{j!=i} A_ij)``. As printed, the
second term shrinks the diagonal, while the stated intent is symmetry and diagonal dominance
(``A_ii > A_ij``); raw, it is O(N^2) and overwhelms the task loss (docs/design.md).

Our choice: on attention *probabilities* P (rows sum to 1), two terms, each in [0, 1]:
- symmetry:  ``sum_ij |P_ij - P_ji| / (2M)``;
- dominance with a margin m: ``mean_i sum_{j != i} relu(P_ij - P_ii / (1 + m))``: zero
  exactly when each diagonal entry is at least (1 + m) times every other entry of its row
  (m = 1: twice; in logits, ``A_ii >= A_ij + ln(1 + m)``).
The margin matters: with m = 0 (our first version) *uniform* attention satisfies both terms,
and training drove the attention the LA layers reuse to uniform (docs/attention_analysis.md).
Uniform attention now costs ``m / (1 + m) (M - 1) / M``. Both terms are averaged over batch
and heads, so the loss is O(1) whatever the token count.
"""
from typing import Tuple

import torch

from .attention_state import AttentionState
from .counter_random import Seed, as_seed, counter_randint


def diagonality_preserving_loss(probs: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """DP loss of square attention probabilities ``(..., M, M)``; returns a scalar."""
    if probs.shape[-1] != probs.shape[-2]:
        raise ValueError(f'DP loss needs square attention maps, got {tuple(probs.shape)}')
    M = probs.shape[-1]
    symmetry = (probs - probs.transpose(-2, -1)).abs().sum((-2, -1)) / (2 * M)  # (...)
    diagonal = probs.diagonal(dim1=-2, dim2=-1).unsqueeze(-1)  # (..., M, 1)
    excess = (probs - diagonal / (1 + margin)).clamp(min=0)  # (..., M, M)
    off_diagonal = 1 - torch.eye(M, dtype=probs.dtype, device=probs.device)
    dominance = (excess * off_diagonal).sum(-1).mean(-1)  # (...)
    return (symmetry + dominance).mean()


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


def sra_dp_loss(state: AttentionState, stride: int, seed: Seed,
                margin: float = 1.0) -> torch.Tensor:
    """DP loss of a spatial-reduction attention (N queries x N_r keys), see above."""
    index = sampled_cell_queries(state.hw_q, state.hw_k, stride, as_seed(seed, state.q.device))
    probs = state.logits(index).float().softmax(-1)  # (B, h, N_r, N_r)
    return diagonality_preserving_loss(probs, margin)
