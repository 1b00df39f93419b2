"""mmseg task models that report the backbone's auxiliary losses. Imports mmseg: configs that use
them list ``lavit_mm.models.seg`` in ``custom_imports``."""
from mmseg.models.segmentors import EncoderDecoder as _EncoderDecoder

from lavit_mm.registry import MODELS
from .aux_loss import BackboneAuxLossMixin
from .layer_depth import BackboneLayerDepthMixin


@MODELS.register_module()
class EncoderDecoder(BackboneAuxLossMixin, BackboneLayerDepthMixin, _EncoderDecoder):
    """mmseg's EncoderDecoder (Semantic FPN, UperNet...), plus the backbone's auxiliary losses
    (``loss_dp``, ``loss_drloc``), and ``get_layer_depth`` for layer-wise lr decay."""
