"""What several test files share: config overrides and configs of the demos on small local
sets, the narrow architectures, and a truncated copy of a file."""
import os.path as osp


def local_data_options(root: str, coco_ann: bool = False) -> dict:
    """Point every dataloader at ``root`` and load in the test's own process (no workers);
    with ``coco_ann``, point the COCO evaluators at the set's val annotations too."""
    opts = {}
    for split in ('train', 'val', 'test'):
        opts.update({f'{split}_dataloader.dataset.data_root': root,
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    if coco_ann:
        for split in ('val', 'test'):
            opts[f'{split}_evaluator.ann_file'] = root + 'annotations/instances_val2017.json'
    return opts


# The narrow architectures of the fast tests, defined once: the real per-stage structure
# (VA then LA layers, the cross-stage residual on for 'sra') at 16-128 channels.
NARROW_ARCH = {
    'sra': dict(embed_dims=[16, 32, 48, 64], depths=[2, 3, 3, 2], num_heads=[1, 2, 3, 4],
                mlp_ratios=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1], num_va=[2, 2, 1, 1]),
    'window': dict(embed_dims=[16, 32, 64, 128], depths=[2, 3, 3, 2], num_heads=[1, 2, 4, 4],
                   mlp_ratios=[2, 2, 2, 2], num_va=[2, 2, 1, 1]),
}


def narrow_arch(attention: str = 'sra', **changes) -> dict:
    """A fresh copy of the narrow arch of ``attention``, with per-stage lists replaced."""
    return {**{k: list(v) for k, v in NARROW_ARCH[attention].items()}, **changes}


def build_narrow(model_type=None, attention='sra', arch: dict = None, seed: int = 0,
                 **kwargs):
    """A narrow backbone (LaViT unless ``model_type``), initialised from ``seed``, in eval
    mode. ``attention``: a kind's name or its dict (``type`` and options)."""
    import torch

    from lavit_mm.models import LaViT
    model_type = model_type or LaViT
    torch.manual_seed(seed)
    if model_type.__name__ != 'Swin':
        kwargs['attention'] = attention
    kind = attention['type'] if isinstance(attention, dict) else attention
    model = model_type(arch=arch or narrow_arch(kind), **kwargs)
    model.init_weights()
    return model.eval()


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMOS = {
    'det': ('retinanet_lavit_t_synthetic.py', 'coco_root', 'train/loss'),
    'seg': ('semfpn_lavit_t_synthetic.py', 'ade_root', 'train/loss'),
    'cls': ('lavit_t_synthetic_cls.py', 'imagenet_root', 'train/loss'),
}


def demo_cfg(task, root, work_dir, **extra):
    """A demo config of ``task`` on the local set at ``root``, a few iterations, logging
    every step."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', DEMOS[task][0]))
    opts = {**local_data_options(root, coco_ann=task == 'det'), 'work_dir': str(work_dir),
            'default_hooks.logger.interval': 1, 'log_processor.window_size': 1}
    if task == 'cls':
        opts.update({'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 10,
                     'default_hooks.checkpoint.interval': 10})
    else:
        opts.update({'train_cfg.max_iters': 3, 'train_cfg.val_interval': 100,
                     'default_hooks.checkpoint.interval': 100})
    opts.update(extra)
    cfg.merge_from_dict(opts)
    return cfg


def write_truncated(src, dst) -> None:
    """The first half of file ``src`` as ``dst`` (a checkpoint cut short by a killed save)."""
    data = open(src, 'rb').read()
    open(dst, 'wb').write(data[:len(data) // 2])
