"""Global attention of a plain (isotropic) ViT: a Vanilla and a Less-Attention version.

Tokens are ``prefix`` leading tokens off the grid (the class token) followed by the ``H x W``
patch tokens; every query attends to every key. The VA layer's parameters are those of
mmpretrain's ``MultiheadAttention`` (``qkv``, ``proj``), so mmpretrain ViT/DeiT weights load
as they are.

Theta/Psi and the class token. With ``transform='dense'`` (the paper's form) Psi and Theta are
dense (N x N) maps over all tokens, the class token included, sized for the position table's
grid (``dense_transform.py``). With ``'local'`` (our choice; the paper does not say) Theta and
Psi act on the patch part of each axis as the hierarchical LA layers do (a per-head k x k map
over the token grid, ``token_transform.py``) and leave the class token's entry alone: written
as matrices, ``Psi = diag(1, P)`` and ``Theta = diag(1, T)``, so in ``A' = Psi A Theta^T`` the class
token's row keeps its own-key logit and has its patch logits mixed along keys by ``T``; the
class token's column (how much each patch attends to the class token) is mixed along queries
by ``P``; the class-class logit is passed on unchanged. A grid convolution has no place for
a token without a position, and the identity there is what a fresh LA layer needs to
reproduce the attention it receives.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from ...grid import HW
from .attention_state import AttentionBase, AttentionState
from .counter_random import Seed
from .dense_transform import DenseTokenMap, TransformOptions
from .dp_loss import dp_loss_of_scores
from .kind import LayerArgs
from .less_attention import LessAttentionMixin
from .token_transform import TokenGridTransform


class _GlobalBase(AttentionBase):

    def __init__(self, args: LayerArgs, prefix: int):
        super().__init__(args.dims, args.num_heads, args.attn_drop, args.proj_drop)
        self.prefix = prefix

    def key_grid(self, hw: HW) -> HW:
        return hw


class GlobalAttention(_GlobalBase):
    """Multi-head self-attention over all tokens (ViT), with LSA/re-attention as options."""

    def __init__(self, args: LayerArgs, prefix: int = 1):
        super().__init__(args, prefix)
        self.qkv = nn.Linear(args.dims, 3 * args.dims, bias=args.qkv_bias)
        self.add_va_options(args)

    def forward(self, x: torch.Tensor, hw: HW, prev: Optional[AttentionState] = None,
                extension=None) -> Tuple[torch.Tensor, AttentionState]:
        """x: (B, prefix + H*W, C) -> (B, prefix + H*W, C) and this layer's attention."""
        if extension is not None:
            raise ValueError('a plain ViT has no cross-stage residual')
        q, k, v = map(self.heads, self.qkv(x).chunk(3, dim=-1))  # 3 x (B, h, N, d)
        state = AttentionState(q * self.query_scale(), k, hw, hw, self.head_dims, self.prefix)
        return self.output(state, v, hw), state


class GlobalLessAttention(LessAttentionMixin, _GlobalBase):
    """Less-Attention over all tokens: no q/k projection; the previous layer's logits with
    Psi along queries and Theta along keys: local maps on the patch tokens, or dense maps
    over all tokens sized for ``args.token_grid`` (module docstring)."""
    dp_loss_samples = False  # the whole square map

    def __init__(self, args: LayerArgs, prefix: int = 1,
                 kernel_size: int = TransformOptions.la_kernel_size,
                 transform: str = TransformOptions.la_transform):
        super().__init__(args, prefix)
        self.v = nn.Linear(args.dims, args.dims, bias=args.qkv_bias)
        heads, init = args.num_heads, args.options.la_init
        if transform == 'dense':
            if args.token_grid is None:
                raise ValueError('a dense LA layer needs LayerArgs.token_grid')
            self.theta = DenseTokenMap(heads, args.token_grid, prefix, init)  # key axis
            self.psi = DenseTokenMap(heads, args.token_grid, prefix, init)  # query axis
        else:
            self.theta = TokenGridTransform(heads, kernel_size, init)  # along the key axis
            self.psi = TokenGridTransform(heads, kernel_size, init)  # along the query axis

    def _map_tokens(self, transform: nn.Module, t: torch.Tensor, hw: HW):
        """(B, h, prefix + H*W, d): ``transform`` on the tokens: a dense map takes them all,
        a local one the patch tokens (the prefix kept as it is)."""
        if isinstance(transform, DenseTokenMap):
            return transform(t, hw)
        p = self.prefix
        return torch.cat([t[:, :, :p], transform(t[:, :, p:], hw)], dim=2)

    def transform(self, state: AttentionState, hw: HW) -> AttentionState:
        if tuple(state.hw_q) != tuple(hw) or state.prefix != self.prefix:
            raise ValueError(f'LA layer got attention for grid {state.hw_q} with '
                             f'{state.prefix} leading tokens, but its tokens are {hw} with '
                             f'{self.prefix}')
        q = self._map_tokens(self.psi, state.q, hw)  # (B, h, N, d)
        k = self._map_tokens(self.theta, state.k, hw)  # (B, h, N, d)
        return AttentionState(q, k, hw, hw, state.own_dims, self.prefix)

    def attend_with(self, state: AttentionState, x: torch.Tensor, hw: HW):
        return self.output(state, self.heads(self.v(x)), hw), state

    def dp_loss_of(self, state: AttentionState, seed: Seed, margin: float = 1.0,
                   form: str = 'ours') -> torch.Tensor:
        """The DP loss of the whole square map, class token included (its row and column are
        tokens of the map like any other); no sampling: N x N is small for a plain ViT."""
        return dp_loss_of_scores(state.logits(), form, margin)
