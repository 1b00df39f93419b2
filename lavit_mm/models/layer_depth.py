"""Layer-wise learning-rate decay for the task models of every toolbox.

mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the whole model for
``get_layer_depth(param_name)``; mmpretrain's ``ImageClassifier`` passes it to its backbone,
mmdet's and mmseg's models have no such method. This mixin gives lavit_mm's detector and
segmentor the same delegation, so one constructor serves all three toolboxes:

    optim_wrapper = dict(constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
                         paramwise_cfg=dict(layer_decay_rate=0.9), ...)
"""
from typing import Tuple


class BackboneLayerDepthMixin:

    def get_layer_depth(self, param_name: str) -> Tuple[int, int]:
        """(depth, number of depths) of a parameter of the whole model: the backbone's
        ``get_layer_depth`` with the ``backbone.`` prefix; necks and heads come last."""
        if not hasattr(self.backbone, 'get_layer_depth'):
            raise NotImplementedError(
                f'layer-wise lr decay needs get_layer_depth on the backbone, and '
                f'{type(self.backbone).__name__} has none: use a lavit_mm backbone, or drop '
                f'layer_decay_rate')
        return self.backbone.get_layer_depth(param_name, 'backbone.')
