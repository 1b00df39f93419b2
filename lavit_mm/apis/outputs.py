"""What tools/test.py writes besides the metrics, done by the toolboxes' own parts.

- ``--show-dir DIR`` (and ``--show``) turn on the config's ``default_hooks.visualization`` as
  each toolbox's own test script does: mmdet's ``DetVisualizationHook`` writes each test
  image with its ground truth (left) and the predictions above the hook's score threshold
  (right) to DIR; mmseg's ``SegVisualizationHook`` draws ground truth and predicted masks
  through the visualizer, whose save_dir becomes DIR (images under DIR/vis_data/vis_image);
  mmpretrain's ``VisualizationHook`` writes each image with its predicted class to DIR;
- ``--out FILE.pkl``: mmengine's ``DumpResults`` writes the raw predictions;
- ``--tta``: the toolbox's test-time augmentation (:func:`enable_tta`).
"""
import copy
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict


def dump_predictions(cfg: Config, out_file: str) -> None:
    """``tools/test.py --out FILE``: mmengine's ``DumpResults`` beside the config's evaluator
    writes every raw prediction to a pickle (``.pkl``/``.pickle``), as mmdet's ``--out``."""
    if not out_file.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {out_file}: the raw results are a pickle; name it .pkl')
    evaluator = cfg.test_evaluator
    evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
    cfg.test_evaluator = evaluators + [dict(type='DumpResults', out_file_path=out_file,
                                            _scope_='mmengine')]


def enable_prediction_drawing(cfg: Config, show_dir: Optional[str] = None, show: bool = False,
                              wait_time: float = 2., interval: int = 1) -> None:
    """Turns on drawing in ``cfg``'s visualization hook (see the module docstring), for every
    ``interval``-th test batch (mmseg) or sample (mmpretrain); mmdet's hook draws every test
    image."""
    if interval < 1:
        raise ValueError(f'--interval must be >= 1, got {interval}')
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError("--show/--show-dir: the config has no default_hooks.visualization; "
                         "add the toolbox's hook: dict(type='DetVisualizationHook') (mmdet), "
                         "dict(type='SegVisualizationHook') (mmseg) or "
                         "dict(type='VisualizationHook') (mmpretrain)")
    kind = hook.get('type', '')
    show_dir = osp.abspath(show_dir) if show_dir else None  # mmdet joins a relative one
    if 'visualizer' in cfg:
        # a name of its own: a visualizer built under the config's name earlier in this
        # process (a training run, another toolbox's test) would be reused, with its type and
        # save_dir
        cfg.visualizer['name'] = f'visualizer:{kind}:{show_dir}'
    if kind.endswith('DetVisualizationHook'):
        hook.update(draw=True, show=show, wait_time=wait_time, interval=interval)
        if show_dir:
            hook['test_out_dir'] = show_dir
    elif kind.endswith('SegVisualizationHook'):
        hook.update(draw=True, show=show, wait_time=wait_time, interval=interval)
        if show_dir:
            if 'visualizer' not in cfg:
                raise ValueError('--show-dir: the config has no visualizer to save with; '
                                 "add visualizer=dict(type='SegLocalVisualizer', "
                                 "vis_backends=[dict(type='LocalVisBackend')])")
            cfg.visualizer['save_dir'] = show_dir
    elif kind.split('.')[-1] == 'VisualizationHook':
        hook.update(enable=True, show=show, wait_time=wait_time, out_dir=show_dir,
                    interval=interval)
    else:
        raise ValueError(f'--show/--show-dir: {kind} is not a hook of mmdet, mmseg or '
                         f'mmpretrain that this tool knows how to turn on; use the toolbox\'s '
                         f'own tools/test.py with this config')


def _test_dataset(cfg: Config) -> ConfigDict:
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # wrappers
        dataset = dataset['dataset']
    return dataset


def _flip_tta_pipeline(test_pipeline: list, pack: dict) -> list:
    """The test pipeline with its last step replaced by flipped / not flipped copies."""
    pipeline = copy.deepcopy(list(test_pipeline))
    pipeline[-1] = dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)], [pack]])
    return pipeline


def enable_tta(cfg: Config) -> None:
    """``tools/test.py --tta``: each toolbox's test-time augmentation, as its own test script
    sets it up. The config's ``tta_model``/``tta_pipeline`` when it has them; otherwise
    mmdet's and mmpretrain's defaults (horizontal flip; mmdet merges the boxes with NMS at
    IoU 0.5, mmpretrain averages the scores). mmseg's test script has no default: a
    segmentation config without them is refused."""
    from .inference import toolbox_of
    scope = toolbox_of(cfg)
    hook = cfg.get('default_hooks', {}).get('visualization') or {}
    if scope == 'mmpretrain' and hook.get('enable'):
        raise ValueError("--tta with --show/--show-dir: mmpretrain's VisualizationHook cannot "
                         "draw test-time-augmented batches; draw without --tta, then run --tta")
    dataset = _test_dataset(cfg)
    if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
        if scope == 'mmseg':
            raise ValueError('--tta: this segmentation config has no tta_model/tta_pipeline; '
                             "inherit mmseg's (tta_model=dict(type='SegTTAModel') and a "
                             "'TestTimeAug' tta_pipeline, as mmseg's dataset configs define)")
        if scope == 'mmdet':
            cfg.setdefault('tta_model', dict(type='DetTTAModel', tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))
            pack = dict(type='PackDetInputs', meta_keys=(
                'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                'flip_direction'))
        else:
            cfg.setdefault('tta_model', dict(type='mmpretrain.AverageClsScoreTTA'))
            pack = dataset.pipeline[-1]
        cfg.setdefault('tta_pipeline', _flip_tta_pipeline(dataset.pipeline, pack))
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset.pipeline = cfg.tta_pipeline
