"""Pictures of predictions at test time, drawn by the toolbox's own visualization hook.

``tools/test.py --show-dir DIR`` (and ``--show``) turn on the config's
``default_hooks.visualization`` as mmdet's own test script does: mmdet's
``DetVisualizationHook`` writes each test image with its ground truth (left) and the
predictions above the hook's score threshold (right).
"""
import os.path as osp
from typing import Optional

from mmengine.config import Config


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
