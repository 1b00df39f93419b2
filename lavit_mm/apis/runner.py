"""What tools/train.py and tools/test.py do, as functions: config in, mmengine Runner out.

Nothing here replaces the toolboxes: the Runner, datasets, models and evaluators are the ones
the config names. These functions only apply the command-line overrides mmdet's tools apply,
and check a few things whose failure inside the Runner would be obscure.
"""
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

# torch >= 2.6 loads checkpoints with weights_only=True, which refuses the training state in
# mmengine checkpoints (message_hub's HistoryBuffer). Our tools unpickle fully only where the
# user asks for it: resuming their own run, or testing their own checkpoint (see README).
_FULL_LOAD = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


def allow_full_checkpoint_unpickling() -> None:
    os.environ[_FULL_LOAD] = '1'


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


def check_data_roots(cfg: Config, loaders: Sequence[str]) -> None:
    """Fails early, naming the config key to change, when a dataset folder is missing."""
    for name in loaders:
        loader = cfg.get(name)
        if not loader:
            continue
        dataset = loader['dataset']
        while 'dataset' in dataset:  # wrappers such as RepeatDataset
            dataset = dataset['dataset']
        root = dataset.get('data_root')
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{name}: data_root {root!r} does not exist (cwd {os.getcwd()}). Put the dataset '
                f'there (see README, "Datasets"), or override it with '
                f'--cfg-options {name}.dataset.data_root=/path/to/data/')


def build_runner(cfg: Config, mode: str, amp: bool = False, resume: Optional[str] = None,
                 checkpoint: Optional[str] = None, full_unpickling: bool = False) -> Runner:
    """mode 'train' or 'test'. ``resume``: 'auto' or a checkpoint path (train);
    ``checkpoint``: the weights to test."""
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if mode == 'train':
        if resume is not None:
            cfg.resume = True
            cfg.load_from = None if resume == 'auto' else resume
            allow_full_checkpoint_unpickling()  # the user's own work dir
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    elif mode == 'test':
        if checkpoint is None or not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
        cfg.load_from = checkpoint
        if full_unpickling:
            allow_full_checkpoint_unpickling()
        check_data_roots(cfg, ['test_dataloader'])
    else:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    return Runner.from_cfg(cfg)
