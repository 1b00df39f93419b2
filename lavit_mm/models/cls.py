"""mmpretrain task models that report the backbone's auxiliary losses. Imports mmpretrain: configs
that use them list ``lavit_mm.models.cls`` in ``custom_imports``."""
from mmpretrain.models.classifiers import ImageClassifier as _ImageClassifier

from lavit_mm.registry import MODELS
from .aux_loss import BackboneAuxLossMixin


@MODELS.register_module()
class ImageClassifier(BackboneAuxLossMixin, _ImageClassifier):
    """mmpretrain's ImageClassifier, plus the backbone's auxiliary losses
    (``loss_dp``, ``loss_drloc``)."""
