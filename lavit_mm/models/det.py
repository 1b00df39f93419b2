"""mmdet task models that report the backbone's auxiliary losses. Imports mmdet: configs that use
them list ``lavit_mm.models.det`` in ``custom_imports``."""
from mmdet.models.detectors import RetinaNet as _RetinaNet

from lavit_mm.registry import MODELS
from .aux_loss import BackboneAuxLossMixin
from .layer_depth import BackboneLayerDepthMixin


@MODELS.register_module()
class RetinaNet(BackboneAuxLossMixin, BackboneLayerDepthMixin, _RetinaNet):
    """mmdet's RetinaNet, plus the backbone's auxiliary losses
    (``loss_dp``, ``loss_drloc``), and ``get_layer_depth`` for layer-wise lr decay."""
