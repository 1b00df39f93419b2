"""A config file as tools/train.py and tools/test.py read it (the file, the command-line
overrides, the work dir and launcher: mmdet's tools' rules), and its model as the Runner
builds it. Low in the package, so that the analysis and export tools read configs and build
models exactly as training does."""
import os.path as osp
from contextlib import contextmanager
from typing import Optional

from mmengine.config import Config


def load_config(config: str, cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None, launcher: str = 'none') -> Config:
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} does not exist')
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


@contextmanager
def config_scope(cfg):
    """What the Runner sets up before it builds a config's parts: ``custom_imports`` imported
    and the config's default scope, here only for the ``with`` block (the Runner sets the
    scope for the whole process; an analysis function must not, or mmdet/mmpretrain names
    built later in the process resolve in the wrong toolbox)."""
    from mmengine.registry import DefaultScope
    from mmengine.utils import import_modules_from_strings
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        yield


def build_model(cfg):
    """The config's model as the Runner builds it (in :func:`config_scope`), a top-level
    ``data_preprocessor`` merged into the model."""
    from mmengine.registry import MODELS
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor'):
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with config_scope(cfg):
        return MODELS.build(model_cfg)
