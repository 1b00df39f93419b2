"""Attention maps of a backbone and the DeepViT attention-collapse measures.

DeepViT (Zhou et al., 2021) shows attention collapse as the cosine similarity of the
attention maps of layer p and layer q, per head h and key token t, over the column
``A[h, :, t]`` (how every query attends to t), averaged over heads and tokens:

    M[p, q] = mean_{h,t} <A^p[h,:,t], A^q[h,:,t]> / (|A^p[h,:,t]| |A^q[h,:,t]|)

We compute it within each stage (the layers of a stage share token grids) for VA and LA
layers alike, and the same measure between the heads of one layer (how redundant the heads
are). Attention maps are probabilities (softmax of the logits, including Swin's relative
position bias and mask), as the layer uses them: with LSA's own-key mask and DeepViT's
re-attention (in eval mode) where a VA layer has them. Spatial-reduction maps are
``N x N_r``; at most ``max_queries`` queries (the same ones for every layer of a stage) are
used, so any input size fits in memory. Window maps are spread over the whole token grid
(zero outside each query's window, the shift undone), so shifted and plain window layers are
compared token by token.
An LA layer with ``la_key_stride`` attends to a coarser key grid: the maps of the other
layers of its stage are summed onto that grid before they are compared with it.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from lavit_mm.grid import HW
from lavit_mm.models.layers.cross_stage import inherited_attention
from .eval_mode import eval_mode


@dataclass
class LayerAttention:
    """One layer's attention probabilities for sampled queries, over its whole key grid."""
    stage: int
    layer: int
    kind: str  # 'VA' or 'LA'
    probs: torch.Tensor  # (B, h, Q, N_k): Q sampled queries
    hw_q: HW
    hw_k: HW
    query_index: torch.Tensor  # (Q,) flat query positions of the rows
    prefix: int = 0  # key columns before the grid (a plain ViT's class token)


def _query_sample(hw: HW, max_queries: int, device) -> torch.Tensor:
    n = hw[0] * hw[1]
    if n <= max_queries:
        return torch.arange(n, device=device)
    return torch.linspace(0, n - 1, max_queries, device=device).round().long()


@torch.no_grad()
def collect_attention(backbone, images: torch.Tensor,
                      max_queries: int = 1024) -> List[List[LayerAttention]]:
    """Per stage, every layer's attention probabilities for ``images`` (B, 3, H, W), for at
    most ``max_queries`` queries (evenly spread, the same for all layers of a stage).
    ``backbone`` is one of ours (``attention_states``)."""
    if not hasattr(backbone, 'attention_states'):
        raise TypeError(f'{type(backbone).__name__} exposes no attention: analysis works on '
                        f'lavit_mm backbones (LaViT, PVT, Swin, LaViTPlain)')
    with eval_mode(backbone):
        per_stage = backbone.attention_states(images)
    result = []
    for i, (blocks, states) in enumerate(zip(backbone.attention_blocks(), per_stage)):
        layers = []
        index = _query_sample(states[0].hw_q, max_queries, images.device) if states else None
        for j, (block, state) in enumerate(zip(blocks, states)):
            kind = 'LA' if block.is_less_attention else 'VA'
            probs = block.attn.query_probs(state, index)  # (B, h, Q, prefix + N_k)
            layers.append(LayerAttention(i, j, kind, probs, state.hw_q, state.hw_k, index,
                                         state.prefix))
        result.append(layers)
    return result


def _sum_to_grid(probs: torch.Tensor, hw: HW, target: HW) -> torch.Tensor:
    """Sum attention over key cells: (..., H*W) on grid hw -> (..., H'*W') on target."""
    if tuple(hw) == tuple(target):
        return probs
    sy, sx = math.ceil(hw[0] / target[0]), math.ceil(hw[1] / target[1])
    lead = probs.shape[:-1]
    grid = probs.reshape(-1, 1, *hw)
    grid = F.avg_pool2d(grid, (sy, sx), ceil_mode=True, divisor_override=1)
    if tuple(grid.shape[-2:]) != tuple(target):
        raise ValueError(f'cannot pool a {hw} key grid onto {target}')
    return grid.reshape(*lead, target[0] * target[1])


def _column_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over key columns of the cosine between columns; a, b: (..., Q, K) -> (...).
    Columns no sampled query attends to in either map (window keys far from every sampled
    query) carry no information and are left out."""
    na, nb = a.norm(dim=-2), b.norm(dim=-2)  # (..., K)
    cos = (a * b).sum(-2) / (na * nb).clamp_min(1e-12)
    used = ((na > 0) | (nb > 0)).to(cos.dtype)
    return (cos * used).sum(-1) / used.sum(-1).clamp_min(1)


def cross_layer_similarity(layers: Sequence[LayerAttention]) -> torch.Tensor:
    """(L, L) DeepViT similarity between the layers of one stage (mean over batch, heads)."""
    L = len(layers)
    sim = torch.ones(L, L)
    for p in range(L):
        for q in range(p + 1, L):
            a, b = layers[p], layers[q]
            pa, pb = a.probs, b.probs
            if tuple(a.hw_k) != tuple(b.hw_k):  # an LA layer on a coarser key grid
                coarse = min((a, b), key=lambda x: x.hw_k[0] * x.hw_k[1]).hw_k
                pa, pb = _sum_to_grid(pa, a.hw_k, coarse), _sum_to_grid(pb, b.hw_k, coarse)
            if pa.shape[1] != pb.shape[1]:
                raise ValueError('layers of one stage must have the same number of heads')
            sim[p, q] = sim[q, p] = _column_cosine(pa, pb).mean()
    return sim


def cross_head_similarity(layer: LayerAttention) -> torch.Tensor:
    """(h, h) DeepViT similarity between the heads of one layer (mean over batch)."""
    probs = layer.probs  # (B', h, Q, K)
    h = probs.shape[1]
    sim = torch.ones(h, h)
    for g in range(h):
        for f in range(g + 1, h):
            sim[g, f] = sim[f, g] = _column_cosine(probs[:, g], probs[:, f]).mean()
    return sim


def query_attention_map(layer: LayerAttention, point: Tuple[float, float],
                        sample: int = 0) -> torch.Tensor:
    """Head-averaged attention of the sampled query nearest to ``point`` = (y, x) in [0, 1]
    image coordinates, as a map over the key grid (window: zero outside its window)."""
    y, x = point
    H, W = layer.hw_q
    r, c = min(int(y * H), H - 1), min(int(x * W), W - 1)
    qr, qc = layer.query_index // W, layer.query_index % W
    row = int(((qr - r) ** 2 + (qc - c) ** 2).argmin())  # nearest sampled query
    return layer.probs[sample, :, row, layer.prefix:].mean(0).reshape(layer.hw_k)


def normalized_entropy(layer: LayerAttention) -> float:
    """Mean entropy of the attention rows over the entropy of uniform attention on the keys
    each query can see: 1 = uniform (attention that does not select), near 0 = one key.
    NaN for maps that are not distributions (re-attention's normalised maps have negative
    entries): entropy does not apply to them."""
    p = layer.probs  # (B, h, Q, K)
    if p.min() < 0:
        return float('nan')
    entropy = -(p * p.clamp_min(1e-12).log()).sum(-1)  # (B, h, Q)
    visible = (p > 0).sum(-1).clamp_min(2).float()  # window rows see M^2 keys only
    return float((entropy / visible.log()).mean())


def similarity_rows(name: str, stages: List[List[LayerAttention]]) -> List[Dict]:
    """CSV rows: cross-layer pairs, per-layer mean cross-head similarity and normalised
    attention entropy (similarity alone cannot tell diverse maps from uniform ones)."""
    rows = []
    for layers in stages:
        if not layers:
            continue
        sim = cross_layer_similarity(layers)
        for p, a in enumerate(layers):
            for q, b in enumerate(layers):
                if q > p:
                    rows.append(dict(model=name, measure='cross_layer', stage=a.stage + 1,
                                     layer=p + 1, other_layer=q + 1, kind=a.kind,
                                     other_kind=b.kind, value=float(sim[p, q])))
        for p, a in enumerate(layers):
            heads = cross_head_similarity(a)
            h = heads.shape[0]
            mean = float((heads.sum() - h) / (h * (h - 1))) if h > 1 else float('nan')
            rows.append(dict(model=name, measure='cross_head_mean', stage=a.stage + 1,
                             layer=p + 1, other_layer='', kind=a.kind, other_kind='',
                             value=mean))
            rows.append(dict(model=name, measure='entropy_ratio', stage=a.stage + 1,
                             layer=p + 1, other_layer='', kind=a.kind, other_kind='',
                             value=normalized_entropy(a)))
    return rows


@torch.no_grad()
def dp_diagnosis(backbone, images: torch.Tensor, seeds: Sequence[int] = range(8)) -> List[Dict]:
    """Where an LA layer's DP loss comes from: per LA layer, the DP loss (unweighted, the
    training loss's definition, the layer's own ``dp_loss``) of the attention it inherits,
    taken as it is (an identity Theta/Psi), and of its LA transform of it, as in training.
    The loss is computed on a detached copy of the inherited attention, so only Theta/Psi can
    lower it: when the two are close, the DP loss measures the VA attention, which it cannot
    change. 'sra' layers average the loss over the sampled query offsets of ``seeds``; an
    inherited attention on a finer key grid than the layer's (``la_key_stride``) is NaN."""
    with eval_mode(backbone):
        per_stage = backbone.attention_states(images)
    rows = []
    for i, (blocks, states) in enumerate(zip(backbone.attention_blocks(), per_stage)):
        for j, block in enumerate(blocks):
            attn = block.attn
            if not getattr(attn, 'is_less_attention', False):
                continue
            if j == 0:  # a stage of LA layers only: the attention it inherits
                hw = states[0].hw_q
                prev = inherited_attention(per_stage[i - 1][-1], hw, attn.key_grid(hw),
                                           attn.num_heads)
            else:
                prev = states[j - 1]
            transformed = attn.transform(prev, prev.hw_q)
            draws = list(seeds) if attn.dp_loss_samples else [None]  # else: all queries

            def mean_dp(state) -> float:
                return float(torch.stack([attn.dp_loss_of(state, s, backbone.dp_margin,
                                                          backbone.dp_form)
                                          for s in draws]).mean())
            same_grid = tuple(prev.hw_k) == tuple(transformed.hw_k)
            rows.append(dict(stage=i + 1, layer=j + 1,
                             inherited=mean_dp(prev) if same_grid else float('nan'),
                             transformed=mean_dp(transformed)))
    return rows
