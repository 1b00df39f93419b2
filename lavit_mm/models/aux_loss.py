"""A backbone's auxiliary losses (``loss_dp``, ``loss_drloc``): the one table of them, and the
mixin that adds them to any OpenMMLab task model's losses.

Each loss has a name (its key in the task model's loss dict), the backbone attribute that
holds its weight (0 turns it off), the step-counter buffer its position sampler hashes (in
checkpoints, so a resumed run draws what the uninterrupted one would have) and the function
that computes it from one training forward. ``HierarchicalViT.forward`` computes them,
``_load_from_state_dict`` fills in a checkpoint's missing counters, the checkpoint loaders
leave the counters out of their missing-keys reports, and a loss computed in one training step
and not collected before the next one (a stock task model drops it) is refused by name.

The backbone computes its auxiliary losses during the forward of ``loss()`` and keeps them
until asked; the task model (detector, segmentor, classifier) merges them into the loss dict it
returns, so each is summed into the total loss and logged by mmengine like any other loss.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch


@dataclass
class ForwardContext:
    """What one training forward leaves for the auxiliary losses.

    Attributes:
        dp_inputs: (LA layer, the attention it inherits, its token grid) per LA layer, or
            None when the DP loss is off.
        last_map: the last stage's output map, (B, C, H, W).
    """
    dp_inputs: Optional[List[Tuple]] = None
    last_map: Optional[torch.Tensor] = None


def _dp_loss(backbone, step: torch.Tensor, ctx: ForwardContext) -> Optional[torch.Tensor]:
    """The Diagonality Preserving loss, mean over LA layers (``layers/dp_loss.py``); one
    sampling seed per LA layer and step."""
    if not ctx.dp_inputs:
        return None
    n = len(ctx.dp_inputs)
    losses = [attn.dp_loss(prev, hw, step * n + i, backbone.dp_margin, backbone.dp_form)
              for i, (attn, prev, hw) in enumerate(ctx.dp_inputs)]
    return torch.stack(losses).mean()


def _drloc_loss(backbone, step: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
    """DRLoc on the last stage's map (``layers/drloc.py``)."""
    return backbone.drloc(ctx.last_map, step)


@dataclass(frozen=True)
class AuxLoss:
    """One auxiliary loss.

    Attributes:
        name: its key in the task model's losses, as mmengine logs it.
        weight: the backbone attribute holding its weight; 0 is off.
        option: how a config sets the weight.
        step_buffer: the backbone buffer counting its training steps (registered only by
            backbones that can compute the loss).
        compute: ``(backbone, step, ForwardContext) -> unweighted loss or None``.
    """
    name: str
    weight: str
    option: str
    step_buffer: str
    compute: Callable[..., Optional[torch.Tensor]]


AUX_LOSSES = (
    AuxLoss('loss_dp', 'dp_loss_weight', 'less_attention.dp_loss.weight', 'dp_step', _dp_loss),
    AuxLoss('loss_drloc', 'drloc_weight', 'remedies.drloc_weight', 'drloc_step', _drloc_loss),
)
STEP_BUFFERS = tuple(a.step_buffer for a in AUX_LOSSES)
TASK_MODELS = ("'lavit_mm.RetinaNet' (lavit_mm.models.det), 'lavit_mm.EncoderDecoder' "
               "(.seg) or 'lavit_mm.ImageClassifier' (.cls)")


def is_step_buffer(key: str) -> bool:
    """Whether a state-dict key is an auxiliary loss's step counter (training state, not a
    weight: a fresh counter is right when a checkpoint lacks it)."""
    return key.rsplit('.', 1)[-1] in STEP_BUFFERS


def refuse_uncollected(owner: str, pending: dict) -> None:
    """Raises when losses of the previous training step were never collected: the task model
    does not report backbone losses, so their weights would silently do nothing."""
    if not pending:
        return
    names = [a for a in AUX_LOSSES if a.name in pending]
    raise RuntimeError(
        f'{owner}: {", ".join(a.name for a in names)} of the previous training step was '
        f'never collected: this task model (e.g. mmdet\'s stock RetinaNet) does not report '
        f'backbone losses, so {" and ".join(a.option for a in names)} would do nothing. Use '
        f'the task models of lavit_mm, type={TASK_MODELS}, or set '
        f'{", ".join(f"{a.option}=0" for a in names)}')


class ComputesAuxLossesMixin:
    """Put first in the bases of a backbone that computes auxiliary losses: the step
    counters, the losses kept for the task model, and checkpoints without the counters.

    The backbone registers the step buffer of each loss it can compute, sets
    ``self._aux_losses = {}``, calls :func:`refuse_uncollected` at the start of a training
    forward and :meth:`_compute_aux_losses` at its end.
    """

    def _compute_aux_losses(self, ctx: ForwardContext) -> Dict[str, torch.Tensor]:
        """Every auxiliary loss this backbone has (:data:`AUX_LOSSES`), weighted. Each loss's
        step counter advances on every training forward, also at weight 0. The counters stay
        tensors (no int(): no sync on CUDA, no graph break when compiled); the samplers hash
        them (layers/counter_random.py)."""
        losses = {}
        for aux in AUX_LOSSES:
            if not hasattr(self, aux.step_buffer):
                continue
            counter = getattr(self, aux.step_buffer)
            step = counter.clone()
            counter += 1
            weight = getattr(self, aux.weight)
            value = aux.compute(self, step, ctx) if weight > 0 else None
            if value is not None:
                losses[aux.name] = weight * value
        return losses

    def aux_losses(self) -> Dict[str, torch.Tensor]:
        """Auxiliary losses of the last training forward (``loss_dp``), then cleared."""
        losses, self._aux_losses = self._aux_losses, {}
        return losses

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints of LA models trained without the DP loss have no step counter (it was
        # registered only with a positive weight): start it at 0.
        for step in STEP_BUFFERS:
            if hasattr(self, step) and prefix + step not in state_dict:
                state_dict[prefix + step] = torch.zeros_like(getattr(self, step))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class BackboneAuxLossMixin:
    """Put first in the bases of a task model whose ``loss()`` returns a dict of losses."""

    def loss(self, *args, **kwargs):
        losses = super().loss(*args, **kwargs)
        collect = getattr(self.backbone, 'aux_losses', None)
        for name, value in (collect() if collect is not None else {}).items():
            if name in losses:
                raise KeyError(f'{type(self).__name__}: backbone loss {name!r} clashes with '
                               f'a loss of the same name from the heads')
            losses[name] = value
        return losses
