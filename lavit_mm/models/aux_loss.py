"""Adds a backbone's auxiliary losses (``loss_dp``, ``loss_drloc``) to any OpenMMLab task
model's losses.

The backbone computes its auxiliary losses during the forward of ``loss()`` and keeps them
until asked; the task model (detector, segmentor, classifier) merges them into the loss dict it
returns, so each is summed into the total loss and logged by mmengine like any other loss.
"""


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
