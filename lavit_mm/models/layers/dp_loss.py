"""Diagonality Preserving (DP) loss on Less-Attention attention maps, in three forms
(``dp_form``; formulas and minimisers in docs/design.md, "DP loss").

Paper: ``L_DP = sum_ij |A_ij - A_ji| + sum_i ((N-1) A_ii - sum_{j!=i} A_ij)``. As printed, the
second term shrinks the diagonal, while the stated intent is symmetry and diagonal dominance
(``A_ii > A_ij``); raw, it is O(N^2) and overwhelms the task loss.

'paper' (:func:`paper_dp_loss`): the printed formula on the transformed scores A (the logits
before the softmax), divided by the number of entries M^2. Its second term is linear in A and
unbounded below (a diagonal score falling to minus infinity).

'paper-corrected' (:func:`corrected_dp_loss`): the printed symmetry term, divided by M^2, and
the dominance term with the intended sign, per row and hinged at the margin:
``mean_i relu(ln(1 + m) - (A_ii - mean_{j != i} A_ij))``: zero once each diagonal score is
ln(1 + m) above the mean of its row's other scores, never below zero.

'ours' (:func:`diagonality_preserving_loss`): on attention *probabilities* P (rows sum to 1),
two terms, each in [0, 1]:
- symmetry:  ``sum_ij |P_ij - P_ji| / (2M)``;
- dominance with a margin m: ``mean_i sum_{j != i} relu(P_ij - P_ii / (1 + m))``: zero
  exactly when each diagonal entry is at least (1 + m) times every other entry of its row
  (m = 1: twice; in logits, ``A_ii >= A_ij + ln(1 + m)``).
The margin matters: with m = 0 *uniform* attention satisfies both terms, and training drives
the attention the LA layers reuse to uniform (docs/attention_analysis.md).
Uniform attention now costs ``m / (1 + m) (M - 1) / M``. Both terms are averaged over batch
and heads, so the loss is O(1) whatever the token count.
"""
import math
import torch


DP_FORMS = ('ours', 'paper', 'paper-corrected')


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


class _OursOfScores(torch.autograd.Function):
    """``diagonality_preserving_loss(scores.softmax(-1), margin)``, the same value, with its
    gradient written out: the training step's DP loss runs on maps of about 1000 x 1000 per
    head at detection size, where autograd's chain of a dozen full-size temporaries (and an
    identity matrix per call) cost more than the logits' matmul. Forward: the softmax P, its
    transpose difference D = P - P^T and the dominance mask (off the diagonal), one pass each;
    backward (mean over the M^2 entries of each of n maps):

        dL/dP = (sign(D) + [j != i and excess_ij >= 0]) / (n M),
        dL/dP_ii -= #{j != i: excess_ij >= 0} / ((1 + m) n M),
        dL/dS = softmax's backward of dL/dP.

    ``tests/test_la_forms.py`` checks value and gradient against the autograd of the
    definition."""

    @staticmethod
    def forward(ctx, scores: torch.Tensor, margin: float) -> torch.Tensor:
        probs = scores.softmax(-1)  # (..., M, M)
        M = probs.shape[-1]
        asym = probs - probs.transpose(-2, -1)
        symmetry = torch.linalg.vector_norm(asym, ord=1, dim=(-2, -1)) / (2 * M)  # (...)
        diagonal = probs.diagonal(dim1=-2, dim2=-1)  # (..., M)
        excess = probs - (diagonal / (1 + margin)).unsqueeze(-1)  # (..., M, M)
        over = excess >= 0  # where the hinge passes gradient (clamp's rule)
        over.diagonal(dim1=-2, dim2=-1).fill_(False)  # a row's diagonal is not one of its others
        excess.clamp_(min=0)
        dominance = (excess.sum(-1) - excess.diagonal(dim1=-2, dim2=-1)).mean(-1)  # (...)
        ctx.save_for_backward(probs, asym, over)
        ctx.margin = margin
        return (symmetry + dominance).mean()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        probs, asym, over = ctx.saved_tensors
        M = probs.shape[-1]
        maps = probs.numel() // (M * M)
        d_probs = torch.sign(asym).add_(over)  # (..., M, M); sign(D) is 0 on the diagonal
        others = over.sum(-1, dtype=d_probs.dtype)  # (..., M): a row's entries over the hinge
        d_probs.diagonal(dim1=-2, dim2=-1).sub_(others / (1 + ctx.margin))
        d_probs.mul_(grad / (maps * M))
        return torch._softmax_backward_data(d_probs, probs, -1, probs.dtype), None


def _square(scores: torch.Tensor) -> int:
    if scores.shape[-1] != scores.shape[-2]:
        raise ValueError(f'DP loss needs square attention maps, got {tuple(scores.shape)}')
    return scores.shape[-1]


def _symmetry(scores: torch.Tensor) -> torch.Tensor:
    """The printed first term over the number of entries: sum_ij |A_ij - A_ji| / M^2 (...)."""
    M = scores.shape[-1]
    return (scores - scores.transpose(-2, -1)).abs().sum((-2, -1)) / M ** 2


def paper_dp_loss(scores: torch.Tensor) -> torch.Tensor:
    """The printed DP loss of square scores ``(..., M, M)`` over its M^2 entries, literally:
    ``(sum_ij |A_ij - A_ji| + sum_i ((M-1) A_ii - sum_{j!=i} A_ij)) / M^2``, mean over the
    leading dims; a scalar. Unbounded below (module docstring)."""
    M = _square(scores)
    diagonal = scores.diagonal(dim1=-2, dim2=-1)  # (..., M)
    others = scores.sum(-1) - diagonal  # (..., M): sum_{j != i} A_ij
    dominance = ((M - 1) * diagonal - others).sum(-1) / M ** 2  # (...)
    return (_symmetry(scores) + dominance).mean()


def corrected_dp_loss(scores: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """The printed symmetry term and the dominance term with the intended sign, hinged:
    ``sum_ij |A_ij - A_ji| / M^2 + mean_i relu(ln(1 + m) - (A_ii - mean_{j!=i} A_ij))`` of
    square scores ``(..., M, M)``, mean over the leading dims; a scalar >= 0. A 1 x 1 map
    has no other entry to dominate: its dominance term is 0."""
    M = _square(scores)
    if M == 1:
        return _symmetry(scores).mean()
    diagonal = scores.diagonal(dim1=-2, dim2=-1)  # (..., M)
    others_mean = (scores.sum(-1) - diagonal) / (M - 1)  # (..., M)
    dominance = (math.log1p(margin) - (diagonal - others_mean)).clamp(min=0).mean(-1)
    return (_symmetry(scores) + dominance).mean()


def dp_loss_of_scores(scores: torch.Tensor, form: str = 'ours',
                      margin: float = 1.0) -> torch.Tensor:
    """The DP loss ``form`` (:data:`DP_FORMS`) of square transformed scores (..., M, M),
    computed in float32; a scalar."""
    scores = scores.float()
    if form == 'ours':
        _square(scores)
        return _OursOfScores.apply(scores, float(margin))
    if form == 'paper':
        return paper_dp_loss(scores)
    if form == 'paper-corrected':
        return corrected_dp_loss(scores, margin)
    raise ValueError(f'unknown DP loss form {form!r}; choose one of {DP_FORMS}')
