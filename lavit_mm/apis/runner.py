"""What tools/train.py and tools/test.py do, as functions: config in, mmengine Runner out.

Nothing here replaces the toolboxes: the Runner, datasets, models and evaluators are the ones
the config names. These functions only apply the command-line overrides mmdet's tools apply,
and check a few things whose failure inside the Runner would be obscure.
"""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from lavit_mm.datasets.fashion_mnist import FILES as FASHION_MNIST_FILES
from lavit_mm.engine.compile import PlainParamGroupsHook, compile_options, compile_test_step
from lavit_mm.engine.config import load_config  # noqa: F401  (public here: lavit_mm.apis)
from lavit_mm.engine.cpu_amp import use_amp_optim_wrapper
from lavit_mm.models.checkpoint import verify_checkpoint_file


@contextmanager
def full_checkpoint_unpickling(enabled: bool = True) -> Iterator[None]:
    """torch >= 2.6 loads checkpoints with weights_only=True, which refuses the training state
    in mmengine checkpoints (message_hub's HistoryBuffer). Inside this block, loads allow full
    unpickling: the tools ask for it where the user does (resuming their own run, testing
    their own checkpoint), never the library functions (see README). mmengine's loaders call
    ``torch.load`` without ``weights_only``, so the switch is torch's own environment
    variable, set for the block only and restored after it. ``enabled=False``: a no-op
    (the tools' ``--safe-load``)."""
    if not enabled:
        yield
        return
    key = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'
    before = os.environ.get(key)
    os.environ[key] = '1'
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


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
        key = f'{name}.dataset.data_root'
        if root and not osp.isdir(root):
            raise FileNotFoundError(
                f'{name}: data_root {root!r} does not exist (cwd {os.getcwd()}). Put the dataset '
                f'there ({_how_to_get(dataset.get("type"))}), or override it with '
                f'--cfg-options {key}=/path/to/data/')
        needed = _STOCK_DATA.get(dataset.get('type'), ((), ''))[0]
        missing = [f for f in needed if root and not osp.exists(osp.join(root, f))]
        if missing:
            raise FileNotFoundError(
                f'{name}: {dataset["type"]} needs {missing} in data_root {root!r} (cwd '
                f'{os.getcwd()}). {_how_to_get(dataset["type"])}; or point {key} at the '
                f'folder that has them (--cfg-options {key}=/path/to/data/)')


# mmpretrain's stock small datasets: what they read from data_root (without it they would try
# a download, which fails on offline nodes), and how to get it.
_STOCK_DATA = {
    'FashionMNIST': (tuple(FASHION_MNIST_FILES),
                     'Put them there with: python tools/prepare_fashion_mnist.py (from '
                     'Debian\'s dataset-fashion-mnist or --from a folder of the four .gz files)'),
    'CIFAR10': (('cifar-10-batches-py', ),
                'Extract cifar-10-python.tar.gz (the "python version" from the CIFAR page) '
                'into data_root'),
    'CIFAR100': (('cifar-100-python', ),
                 'Extract cifar-100-python.tar.gz (the "python version" from the CIFAR page) '
                 'into data_root'),
}


def _how_to_get(dataset_type) -> str:
    return _STOCK_DATA.get(dataset_type, ((), 'see README, "Datasets"'))[1]


def _replace_type(node, old: str, new: str) -> int:
    """Replaces ``type=old`` by ``type=new`` in every dict of a config tree; returns count."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == old:
            node['type'] = new
            count += 1
        for value in node.values():
            count += _replace_type(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _replace_type(value, old, new)
    return count


@contextmanager
def _cuda_set_device_skipped():
    """mmengine's init_dist calls ``torch.cuda.set_device`` unconditionally, which fails
    without CUDA: skip it while the runner is built, and put it back afterwards."""
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda *args, **kwargs: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def adapt_distributed_to_cpu(cfg: Config) -> bool:
    """Makes a multi-process launch work without GPUs (torchrun/slurm on CPU, gloo backend).

    Each change answers a failure of mmengine 0.10.7 seen on CPU (docs/install.md) and is
    applied only when the launcher is distributed and no CUDA device exists, so GPU runs are
    unchanged: DDP refuses device_ids on CPU modules; NCCL needs GPUs (gloo instead);
    SyncBatchNorm refuses CPU modules (plain BN, each process normalising its own batch).
    Returns whether it applied; then mmengine's ``torch.cuda.set_device`` call must be
    skipped while the runner is built (``build_runner`` does).
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return False
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    replaced = _replace_type(cfg.model, 'SyncBN', 'BN')
    print_log('distributed on CPU: gloo backend, DDP without device_ids'
              + (f', {replaced} SyncBN -> BN' if replaced else ''), logger='current')
    return True


def finish_distributed() -> None:
    """On CPU/gloo, rank 0 sometimes aborts at exit ('terminate called without an active
    exception') unless the process group is destroyed first (seen with mmengine 0.10.7)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized() \
            and not torch.cuda.is_available():
        torch.distributed.destroy_process_group()


def _verify_resume_checkpoint(cfg: Config) -> None:
    """The checkpoint a resume will load must be whole: a run killed while saving leaves a
    truncated file that torch reports obscurely."""
    path = cfg.load_from
    if path is None:  # --resume: mmengine takes the one named in work_dir/last_checkpoint
        marker = osp.join(cfg.work_dir, 'last_checkpoint')
        if not osp.isfile(marker):
            return  # nothing to resume: mmengine starts from scratch, and says so
        path = open(marker).read().strip()
    verify_checkpoint_file(path, 'resume from an earlier one: --resume '
                           'WORK_DIR/iter_N.pth (or epoch_N.pth)')


def _loads_weights(cfg) -> bool:
    """Whether some ``init_cfg`` in the model config names a checkpoint to load."""
    if isinstance(cfg, dict):
        init = cfg.get('init_cfg')
        inits = init if isinstance(init, list) else [init]
        if any(isinstance(i, dict) and i.get('checkpoint') for i in inits):
            return True
        return any(_loads_weights(v) for k, v in cfg.items() if k != 'init_cfg')
    if isinstance(cfg, (list, tuple)):
        return any(_loads_weights(v) for v in cfg)
    return False


def _refuse_random_model(cfg: Config) -> None:
    if not _loads_weights(cfg.model):
        raise ValueError('no checkpoint given, and no init_cfg in the model config loads '
                         'weights: the test would score a random model. Give a checkpoint, '
                         "or an init_cfg=dict(type='Pretrained', checkpoint=...) to the "
                         'backbone (and the head)')


def build_runner(cfg: Config, mode: str, amp: bool = False, resume: Optional[str] = None,
                 checkpoint: Optional[str] = None, auto_scale_lr: bool = False) -> Runner:
    """mode 'train' or 'test'. ``resume``: 'auto' or a checkpoint path (train);
    ``checkpoint``: the weights to test (None: the model as its ``init_cfg`` loads it, e.g. a
    release converted on load); ``auto_scale_lr``: scale the lr linearly with the
    total batch against the config's ``auto_scale_lr.base_batch_size`` (mmengine does it)."""
    if auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                             'config (the total batch size its lr was tuned for)')
        cfg.auto_scale_lr.enable = True
    if amp:  # mmdet's --amp: fp16 with loss scaling on GPUs, bf16 on CPUs
        use_amp_optim_wrapper(cfg, torch.cuda.is_available())
    if mode == 'train':
        if resume is not None:
            cfg.resume = True
            cfg.load_from = None if resume == 'auto' else resume
            _verify_resume_checkpoint(cfg)
        check_data_roots(cfg, ['train_dataloader', 'val_dataloader'])
    elif mode == 'test':
        if checkpoint is None:
            _refuse_random_model(cfg)
        else:
            verify_checkpoint_file(str(checkpoint), 'give the path of a complete checkpoint')
        cfg.load_from = checkpoint
        check_data_roots(cfg, ['test_dataloader'])
    else:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    options = compile_options(cfg)  # refuses a malformed value before anything is built
    if adapt_distributed_to_cpu(cfg):
        with _cuda_set_device_skipped():
            runner = Runner.from_cfg(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    if mode == 'test' and checkpoint is None:
        runner._init_model_weights()  # the init_cfg's weights (mmengine does it in train() only)
    if options is not None:  # torch.compile: lavit_mm/engine/compile.py
        if mode == 'train':
            runner.register_hook(PlainParamGroupsHook())
        else:
            compile_test_step(runner, options)
    return runner
