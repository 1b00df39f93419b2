"""mmpretrain task models that report the backbone's ``loss_dp``. Imports mmpretrain: configs
that use them list ``lavit_mm.models.cls`` in ``custom_imports``."""
from mmpretrain.models.classifiers import ImageClassifier as _ImageClassifier

from lavit_mm.registry import MODELS
from .aux_loss import BackboneAuxLossMixin


@MODELS.register_module()
class ImageClassifier(BackboneAuxLossMixin, _ImageClassifier):
    """mmpretrain's ImageClassifier, plus ``loss_dp``."""
