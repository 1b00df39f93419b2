"""The one base of every backbone of lavit_mm, hierarchical (``HierarchicalViT``: LaViT, PVT,
PVTv2, Swin) and plain (``LaViTPlain``).

A backbone is a sequence of transformer blocks, each handed the attention of the block before
it (a Vanilla-Attention layer computes its own, a Less-Attention layer transforms it). What
the two families share lives here, written once:

- the Less-Attention bookkeeping: LA options refused without LA layers, the DP loss's options
  and its step counter (:meth:`_set_less_attention`);
- the forward around the blocks: the input checks, the empty batch, the auxiliary losses
  (:meth:`forward`); the family says what runs between them (:meth:`_run`);
- the block loop, with gradient checkpointing, the DP loss's inputs and the attention states
  for analysis (:func:`run_blocks`);
- attention states, layer depths for layer-wise lr decay, freezing and ``train()``;
- init and load: a fresh init then ``init_cfg``, and one load hook that adapts a state dict in
  our layout to this model (position tables at another size, a VA layer's q/k/v into an LA
  layer): ``models/checkpoint.checkpoint_filter_fn``, for ``init_cfg``, ``load_from`` and
  ``load_state_dict`` alike.
"""
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ...grid import HW
from ..aux_loss import ComputesAuxLossesMixin, ForwardContext, refuse_uncollected
from ..checkpoint import checkpoint_filter_fn
from ..layers.options import DPLossOptions
from .inputs import check_images, check_init_cfg, outputs_for_empty_batch
from .weights import freeze, load_init_cfg


def run_blocks(blocks: Iterable[nn.Module], x: torch.Tensor, hw: HW, state=None, *,
               checkpoint: bool = False, extension=None, dp_inputs: Optional[list] = None,
               states: Optional[list] = None) -> Iterator[Tuple[torch.Tensor, object]]:
    """Runs ``blocks`` in order on tokens x (B, N, C) on grid ``hw``, each handed the
    previous block's attention state (``state``: the attention the first one inherits, or
    None); yields (x, state) after each block.

    ``checkpoint``: gradient checkpointing per block (when x needs gradients).
    ``extension``: the cross-stage residual's (q, k) extension, for the first block.
    ``dp_inputs``: each LA layer is appended with the attention it received and its grid,
    for the DP loss after the forward. ``states``: each block's attention is appended."""
    for j, block in enumerate(blocks):
        ext = extension if j == 0 else None
        if dp_inputs is not None and block.is_less_attention:
            dp_inputs.append((block.attn, state, hw))
        if checkpoint and x.requires_grad:
            x, state = cp.checkpoint(block, x, hw, state, ext, use_reentrant=False)
        else:
            x, state = block(x, hw, state, ext)
        if states is not None:
            states.append(state)
        yield x, state


class LessAttentionBackbone(ComputesAuxLossesMixin, BaseModule):
    """Base of both families (module docstring). A subclass builds its modules, calls
    :meth:`_set_less_attention` before building them and :meth:`_register_dp_step` after, and
    provides :meth:`_run`, :meth:`_init_from_scratch`, :meth:`_layer_depth`,
    :meth:`frozen_parts` and :meth:`attention_blocks`.

    Attributes:
        default_dp_loss_weight: the DP loss's weight when LA layers exist and none is given.
    """
    default_dp_loss_weight: float = 0.

    def __init__(self, init_cfg: Optional[dict], *, frozen_stages: int, with_cp: bool,
                 check_finite: bool):
        check_init_cfg(type(self).__name__, init_cfg)
        super().__init__(init_cfg=init_cfg)
        self.frozen_stages, self.with_cp, self.check_finite = frozen_stages, with_cp, check_finite
        self._aux_losses: Dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ Less-Attention
    def _set_less_attention(self, has_la: bool, la_given: Iterable[str], dp_given: dict,
                            where: str, fix: str) -> None:
        """Refuses an option of LA layers (``la_given``: their user spellings, the DP loss's
        included) when there are none (``where`` says what has none, ``fix`` how to get
        some); sets the DP loss's weight (default: ``default_dp_loss_weight`` with LA layers,
        else 0), form and margin (``dp_given``: :class:`DPLossOptions` fields)."""
        name = type(self).__name__
        la_given = list(la_given) + [DPLossOptions.spelling(k) for k in dp_given]
        if la_given and not has_la:
            raise ValueError(f'{name}: {la_given[0]} configures Less-Attention layers and '
                             f'{where} has none: remove it, or {fix}')
        dp = DPLossOptions.parse(name, {'weight': self.default_dp_loss_weight
                                        if has_la else 0., **dp_given})
        self.dp_loss_weight, self.dp_margin = float(dp.weight), float(dp.margin)
        self.dp_form = dp.form

    def _register_dp_step(self) -> None:
        """The DP loss's step counter, with LA layers: training steps taken, for its sampling;
        in checkpoints, so a resumed run samples what the uninterrupted one would have."""
        if self.la_layers:
            self.register_buffer('dp_step', torch.zeros((), dtype=torch.long))

    @property
    def la_layers(self) -> List[nn.Module]:
        """The Less-Attention layers, in forward order."""
        return [b.attn for blocks in self.attention_blocks() for b in blocks
                if b.is_less_attention]

    def attention_blocks(self) -> List[List[nn.Module]]:
        """The transformer blocks per stage, as :meth:`attention_states` gives their
        attention (a conv stage has none; a plain ViT is one stage): for analysis tools."""
        raise NotImplementedError

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> tuple:
        """x: (B, C_in, H, W) -> the outputs of ``out_indices``. In training, the auxiliary
        losses (DP, DRLoc) are kept for :meth:`aux_losses`."""
        name = type(self).__name__
        check_images(name, x, self.training, self.check_finite)
        if x.shape[0] == 0:
            return outputs_for_empty_batch(self, x)
        if self.training:
            refuse_uncollected(name, self._aux_losses)
        ctx = ForwardContext(dp_inputs=[] if self.training and self.dp_loss_weight > 0
                             else None)
        outs = self._run(x, ctx)
        self._aux_losses = self._compute_aux_losses(ctx) if self.training else {}
        return outs

    def _run(self, x: torch.Tensor, ctx: ForwardContext,
             states: Optional[list] = None) -> tuple:
        """Images -> the outputs; fills ``ctx`` (DP inputs, the last map) and, when given,
        ``states`` with one list of block attentions per stage."""
        raise NotImplementedError

    def attention_states(self, x: torch.Tensor) -> List[list]:
        """Every block's attention, per stage (factored :class:`AttentionState`; its
        ``logits()`` materialises them): for analysis tools and tests."""
        states: List[list] = []
        self._run(x, ForwardContext(), states)
        return states

    # ------------------------------------------------------------------ layer depths
    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """(depth, number of depths) of a parameter, for layer-wise learning-rate decay
        (mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` calls it; the lr scale is
        ``rate ** (num - depth - 1)``), as mmpretrain's ViT and Swin count: the first
        embeddings 0, block k (through the stages, VA and LA alike) k + 1, anything the
        family does not place (a DRLoc head, the task model's neck and head) num - 1. An LA
        layer's Theta/Psi are its block's: they take the place of its q/k. ``prefix``: the
        backbone's in the parameter names ('backbone.')."""
        num = self._num_blocks() + 2
        depth = None
        if param_name.startswith(prefix):
            depth = self._layer_depth(param_name[len(prefix):])
        return (num - 1 if depth is None else depth), num

    def _num_blocks(self) -> int:
        """The blocks that count for depth (every stage's, conv blocks included)."""
        raise NotImplementedError

    def _layer_depth(self, name: str) -> Optional[int]:
        """The depth of parameter ``name`` (without prefix), or None for "the last"."""
        raise NotImplementedError

    # ------------------------------------------------------------------ init / load
    def init_weights(self):
        """A fresh init (the family's), then ``init_cfg``'s checkpoint, with its report."""
        self._init_from_scratch()
        load_init_cfg(self)
        self._is_init = True

    def _init_from_scratch(self) -> None:
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The one load hook: position tables of another size resized, a VA layer's q/k/v
        # given to an LA layer as its v (checkpoint_filter_fn), whoever loads.
        mine = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        for key, value in checkpoint_filter_fn(mine, self).items():
            state_dict[prefix + key] = value
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ------------------------------------------------------------------ train modes
    def frozen_parts(self) -> List[nn.Module]:
        """The modules and parameters ``frozen_stages`` freezes."""
        raise NotImplementedError

    def _freeze(self) -> None:
        freeze(self.frozen_parts())

    def train(self, mode: bool = True):
        """Also keeps the frozen parts frozen (eval mode, no gradients), and BatchNorm layers
        in eval mode with ``norm_eval``."""
        super().train(mode)
        self._freeze()
        if mode and getattr(self, 'norm_eval', False):
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
