"""One mmengine training step of a whole task model (classifier or detector) on random data:
the data preprocessor, backbone, neck, heads, losses (``loss_dp`` included) and the config's
optimizer wrapper with its clipping and parameter groups. Shared by
``tools/analysis/profile_train_step.py`` and the detector rows of ``tools/benchmark.py``.
"""
from typing import Callable, Optional, Tuple

import torch

from lavit_mm.engine.compile import plain_param_groups
from lavit_mm.engine.config import build_model, config_scope
from lavit_mm.engine.cpu_amp import use_amp_optim_wrapper


def random_targets(cfg, batch: int, hw: Tuple[int, int]) -> list:
    """Data samples with random targets: a label (classifier) or 20 boxes of 16-64 px
    (detector), from a fixed seed."""
    g = torch.Generator().manual_seed(0)
    if 'bbox_head' not in cfg.model:
        from mmpretrain.structures import DataSample
        return [DataSample().set_gt_label(i % cfg.model.head.num_classes) for i in range(batch)]
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples, n = [], 20
    for _ in range(batch):
        xy = torch.rand(n, 2, generator=g) * torch.tensor([max(hw[1] - 64., 1.),
                                                           max(hw[0] - 64., 1.)])
        wh = 16 + torch.rand(n, 2, generator=g) * 48
        sample = DetDataSample(metainfo=dict(img_shape=hw, ori_shape=hw, scale_factor=(1., 1.),
                                             pad_shape=hw, batch_input_shape=hw))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(cfg.model.bbox_head.num_classes, (n, ), generator=g))
        samples.append(sample)
    return samples


def task_train_step(cfg, batch: int, hw: Tuple[int, int], device: str = 'cpu',
                    precision: str = 'fp32', compile_options: Optional[dict] = None,
                    ) -> Tuple[Callable[[], dict], torch.nn.Module]:
    """(step, model): ``step()`` runs one ``model.train_step`` on a fixed random batch and
    returns its log vars. ``compile_options``: compile ``train_step`` as mmengine does for a
    config's ``compile`` (plain parameter groups first, see ``engine/compile.py``)."""
    from mmengine.optim import build_optim_wrapper
    dev = torch.device(device)
    if precision != 'fp32':  # as --amp does (build_runner)
        use_amp_optim_wrapper(cfg, dev.type == 'cuda', precision)
    model = build_model(cfg)
    model.init_weights()
    model.to(dev).train()
    with config_scope(cfg):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    train_step = model.train_step
    if compile_options is not None:
        plain_param_groups(optim_wrapper)
        train_step = torch.compile(train_step, **compile_options)
    channels = len(getattr(model.data_preprocessor, 'mean', [0, 0, 0]))
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (channels, *hw), dtype=torch.uint8, generator=g)
                        for _ in range(batch)],
                data_samples=random_targets(cfg, batch, hw))
    return (lambda: train_step(data, optim_wrapper)), model


def output_channels(backbone: torch.nn.Module, in_channels: int = 3) -> list:
    """The channels of each map a backbone returns (one small eval forward)."""
    was_training = backbone.training
    backbone.eval()
    device = next(backbone.parameters()).device
    with torch.no_grad():
        outs = backbone(torch.zeros(1, in_channels, 64, 64, device=device))
    backbone.train(was_training)
    return [o.shape[1] for o in outs]
