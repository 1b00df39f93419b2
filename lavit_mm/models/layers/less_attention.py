"""What every Less-Attention (LA) layer shares, whatever its kind.

An LA layer computes no attention of its own: it takes the previous layer's
(``prev``, required), transforms it (:meth:`transform`, Psi along queries and Theta along keys;
local or dense maps, identity-initialised or not: ``la_transform`` / ``la_init``), and
attends with it over its own values (:meth:`attend_with`). Its Diagonality Preserving loss is
the loss of its transform of a *detached* ``prev`` (:meth:`dp_loss`): the loss shapes
Theta/Psi only, never the attention the layer inherits (when it did, it drove that VA
attention to uniform; docs/attention_analysis.md). The backbone computes that loss after the
forward, with a seed from its step counter; no field of the layer is set from outside.
"""
from typing import Optional, Tuple

import torch

from ...grid import HW
from .attention_state import AttentionState
from .counter_random import Seed


class LessAttentionMixin:
    """Put first in the bases of an LA layer; the layer implements :meth:`transform`,
    :meth:`attend_with` and :meth:`dp_loss_of`."""
    is_less_attention = True
    dp_loss_samples = True  # the DP loss samples queries by its seed (False: uses them all)

    def forward(self, x: torch.Tensor, hw: HW, prev: Optional[AttentionState] = None,
                extension=None) -> Tuple[torch.Tensor, AttentionState]:
        """x: (B, N, C) on grid ``hw`` -> (B, N, C) and the transformed attention."""
        if prev is None:
            raise ValueError('a Less-Attention layer needs the attention of a preceding layer '
                             'in its stage: start each stage with at least one VA layer')
        if extension is not None:
            raise ValueError('a Less-Attention layer takes no cross-stage extension: the '
                             'residual goes to the first (VA) layer of a stage')
        return self.attend_with(self.transform(prev, hw), x, hw)

    def dp_loss(self, prev: AttentionState, hw: HW, seed: Seed, margin: float,
                form: str = 'ours') -> torch.Tensor:
        """The DP loss ``form`` (scalar) of this layer's transform of ``prev``, detached."""
        return self.dp_loss_of(self.transform(prev.detached(), hw), seed, margin, form)

    # ------------------------------------------------------------ per kind
    def transform(self, state: AttentionState, hw: HW) -> AttentionState:
        """The previous attention -> this layer's (same factored form)."""
        raise NotImplementedError

    def attend_with(self, state: AttentionState, x: torch.Tensor,
                    hw: HW) -> Tuple[torch.Tensor, AttentionState]:
        """Attend with ``state`` over values of ``x``: (B, N, C) -> (B, N, C), state."""
        raise NotImplementedError

    def dp_loss_of(self, state: AttentionState, seed: Seed, margin: float,
                   form: str = 'ours') -> torch.Tensor:
        """The DP loss ``form`` (``dp_loss.py``) of an attention on this layer's grids
        (``seed``: query sampling)."""
        raise NotImplementedError
