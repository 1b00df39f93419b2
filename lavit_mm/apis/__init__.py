from .inference import build_inferencer, infer_images, list_images
from .outputs import dump_predictions, enable_prediction_drawing, enable_tta
from .runner import (adapt_distributed_to_cpu, build_runner, check_data_roots,
                     finish_distributed, full_checkpoint_unpickling, load_config)

__all__ = ['adapt_distributed_to_cpu', 'full_checkpoint_unpickling', 'build_runner',
           'check_data_roots', 'dump_predictions', 'enable_prediction_drawing',
           'finish_distributed', 'load_config', 'build_inferencer', 'infer_images',
           'list_images', 'enable_tta']
