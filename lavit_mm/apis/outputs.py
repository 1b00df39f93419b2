"""What tools/test.py writes besides the metrics, done by the toolboxes' own parts.

- ``--show-dir DIR`` (and ``--show``) turn on the config's ``default_hooks.visualization`` as
  mmdet's own test script does: mmdet's ``DetVisualizationHook`` writes each test image with
  its ground truth (left) and the predictions above the hook's score threshold (right);
- ``--out FILE.pkl``: mmengine's ``DumpResults`` writes the raw predictions.
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config


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
                              wait_time: float = 2.) -> None:
    """Turns on drawing in ``cfg``'s visualization hook (see the module docstring)."""
    hook = cfg.get('default_hooks', {}).get('visualization')
    if hook is None:
        raise ValueError('--show/--show-dir: the config has no default_hooks.visualization; '
                         "add the toolbox's hook, e.g. dict(type='DetVisualizationHook')")
    kind = hook.get('type', '')
    if not kind.endswith('DetVisualizationHook'):
        raise ValueError(f'--show/--show-dir: drawing with {kind} is not supported yet (only '
                         f"mmdet's DetVisualizationHook); use the toolbox's own tools/test.py "
                         f'with this config meanwhile')
    hook.update(draw=True, show=show, wait_time=wait_time)
    if show_dir:
        hook['test_out_dir'] = osp.abspath(show_dir)  # mmdet joins a relative one to work_dir
