"""Whole-detector rows of the benchmark: one detector config (RetinaNet + FPN by default), its
backbone swapped for each model, the training step timed as mmengine runs it
(``model.train_step``: data preprocessor, backbone, FPN, head, losses with ``loss_dp``, the
config's AdamW with clipping), images per second and peak memory.

The neck's ``in_channels`` follow each backbone (read from one small forward); the rest of
the config (FPN levels, head, optimizer) is the same for every row. Rounds are interleaved
across models as in :func:`benchmark.run_benchmark`.
"""
import copy
import statistics
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch

from lavit_mm.models.model_spec import build_backbone, parse_model_spec
from lavit_mm.rng import keeps_global_rng
from .benchmark import (RowKey, check_precision, parse_shape, peak_step_memory, precision_suffix,
                        rotated, timed_ms)
from .compare import load_with_options
from .complexity import count_params
from .task_step import output_channels, task_train_step


@dataclass
class DetectorRow(RowKey):
    train_ms: Optional[float] = None
    images_per_s: Optional[float] = None
    train_peak_mb: Optional[float] = None
    train_runs: List[float] = field(default_factory=list, repr=False)


def detector_config(config: str, backbone_cfg: dict):
    """The detector config with ``backbone_cfg`` as its backbone (all four maps) and the
    neck's ``in_channels`` from it."""
    cfg = load_with_options(config)
    if 'neck' not in cfg.model or 'in_channels' not in cfg.model.neck:
        raise ValueError(f'{config}: the detector benchmark needs a model with a neck that '
                         f'takes in_channels (RetinaNet + FPN: configs/retinanet_lavit_s.py)')
    backbone_cfg = dict(backbone_cfg)
    if backbone_cfg['type'].startswith('lavit_mm.'):
        backbone_cfg.setdefault('out_indices', (0, 1, 2, 3))
    cfg.model.backbone = backbone_cfg
    cfg.model.neck.in_channels = output_channels(build_backbone(backbone_cfg))
    return cfg


@keeps_global_rng  # seeds each model's initialisation, restores the caller's state
def run_detector_benchmark(specs: Sequence[str], config: str = 'configs/retinanet_lavit_s.py',
                           shapes: Sequence[str] = ('800x1333', ), device: str = 'cpu',
                           batch: int = 2, warmup: int = 1, repeats: int = 3,
                           precision: str = 'fp32', compile_options: Optional[dict] = None,
                           log: Callable[[str], None] = print) -> List[DetectorRow]:
    """Training step of the whole detector per model and shape (median of ``repeats``
    interleaved rounds after ``warmup`` steps). ``precision``: mixed precision as ``--amp``
    (AmpOptimWrapper); ``compile_options``: extra ``[compiled]`` rows, ``train_step``
    compiled as mmengine does for a config's ``compile``."""
    check_precision(precision)
    dev = torch.device(device)
    suffix = precision_suffix(precision)
    variants = [None] + ([compile_options] if compile_options is not None else [])
    configs = {}  # model name -> its detector config, built once
    for spec in specs:
        name, backbone_cfg = parse_model_spec(spec)
        configs[name] = detector_config(config, backbone_cfg)
    rows: List[DetectorRow] = []
    for shape_name in shapes:
        hw = parse_shape(shape_name)
        steps, shape_rows = {}, {}
        for name, cfg in configs.items():
            for options in variants:
                label = name + suffix + (' [compiled]' if options is not None else '')
                torch.manual_seed(0)
                step, model = task_train_step(copy.deepcopy(cfg), batch, hw, device, precision,
                                              options)
                # compiled: the first calls compile, and recompile where shapes differ
                # (mmdet's per-level losses): three warm-up steps at least
                for _ in range(warmup if options is None else max(warmup, 3)):
                    step()
                steps[label] = step
                shape_rows[label] = DetectorRow(label, shape_name, count_params(model) / 1e6)
        if compile_options is not None:  # compiled steps share mmdet's code objects: one
            for step in steps.values():  # untimed interleaved round takes their recompiles
                step()
        for r in range(repeats):
            for label in rotated(list(steps), r):
                shape_rows[label].train_runs.append(timed_ms(steps[label], dev))
        for label, step in steps.items():
            row = shape_rows[label]
            row.train_ms = statistics.median(row.train_runs)
            row.images_per_s = batch / (row.train_ms / 1e3)
            row.train_peak_mb = peak_step_memory(step, dev)
            log(f'{shape_name} detector {label}: {row.train_ms:.0f} ms/step, '
                f'{row.images_per_s:.2f} images/s, peak {row.train_peak_mb:.0f} MiB')
        rows += list(shape_rows.values())
    return rows


def detector_markdown(rows: Sequence[DetectorRow], config: str, batch: int) -> str:
    lines = [f'Whole detector ({config}, backbone swapped), training step, batch {batch}', '',
             '| model | input | params (M) | train step (ms) | images/s | train peak (MiB) |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r.model} | {r.shape} | {r.params_m:.2f} | {r.train_ms:.0f} | '
                     f'{r.images_per_s:.2f} | {r.train_peak_mb:.0f} |')
    return '\n'.join(lines) + '\n'
