"""Locality Self-Attention (LSA; Lee, Lee and Song, 2021), an option of VA layers.

Two changes to a VA layer: (1) a learnable softmax temperature, one scalar per layer that
multiplies the queries in place of the fixed ``1/sqrt(d)`` (initialised to it); (2) each
query's *own key* is masked before the softmax, so attention goes to other tokens.

Own key: each kind defines it (``AttentionBase.own_keys``; the default is the query's own
token, the diagonal of a square map): 'window' the query's token in its window, 'sra' the key
cell that holds the query (``sra.py``).

The mask is a large finite negative logit (``OWN_KEY_LOGIT``), not -inf: a query whose only
key is its own (a 1 x 1 key grid) keeps attending to it instead of producing NaN.

LSA and the DP loss: the DP loss of LaViT's LA layers *rewards* the own-cell entry (the
diagonal) that LSA masks. The two act on different layers: LSA masks the VA layer's own
attention; the logits it hands on to LA layers carry its temperature but not its mask (the
state is ``q``/``k``, the mask is added only in the VA layer's softmax), so an LA layer's
attention keeps the own cell and its DP loss is unchanged. Masking LA layers too would make
the DP loss's dominance term unsatisfiable (a diagonal of probability 0), so we do not.
"""
import torch


OWN_KEY_LOGIT = -1e4  # added to the own key's logit: exp(-1e4) is 0 in fp16/bf16/fp32


def own_token_blocked(tokens: int, device) -> torch.Tensor:
    """(T, T) bool: the diagonal (each token's own key in a window of T tokens)."""
    return torch.eye(tokens, dtype=torch.bool, device=device)


def as_logit_mask(blocked: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """bool -> additive logits (``OWN_KEY_LOGIT`` where blocked, 0 elsewhere)."""
    return torch.zeros(blocked.shape, dtype=dtype, device=blocked.device).masked_fill(
        blocked, OWN_KEY_LOGIT)
