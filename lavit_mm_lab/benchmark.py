"""Backbone benchmark: params, FLOPs, forward latency, training-step time and peak memory.

Every model is measured in one process, shape by shape, with the timed runs interleaved
across models (each round times every model once, the order rotated from round to round), so
slow drifts of a shared machine hit all models alike and ratios between rows are meaningful.

- latency: median of ``repeats`` (more for short forwards: ~2 s of runs per model)
  eval-mode ``no_grad`` forwards after ``warmup`` forwards;
- training step: median of ``repeats`` steps (forward, ``sum(mean(out))`` loss, backward,
  AdamW step), after ``warmup`` steps;
- peak memory: bytes allocated during one training forward+backward above what was
  allocated before it (activations, gradients, temporaries; not the weights, the optimizer
  state or the optimizer's temporaries),
  from ``torch.cuda.max_memory_allocated`` on GPU and from the profiler's allocator events on
  CPU (PyTorch keeps no CPU peak counter);
- FLOPs: mmengine's FlopAnalyzer (one multiply-add = one FLOP, the papers' convention), with
  our rule for the fused attention kernel (``complexity.py``); achieved GFLOP/s count 2 FLOPs
  per multiply-add, as the matmul peak does;
- precision: fp32, or mixed precision (``fp16``/``bf16``: forwards under ``torch.autocast``,
  as mmengine's ``AmpOptimWrapper``; fp16 training steps on CUDA scale the loss with a
  ``GradScaler``). The matmul peak is measured in the same precision; rows of a mixed
  precision are named ``model [fp16]``.
"""
import contextlib
import copy
import csv
import io
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from lavit_mm.grid import parse_shape
from lavit_mm.models.model_spec import build_backbone, parse_model_spec
from lavit_mm.rng import keeps_global_rng
from .complexity import count_flops, count_params

SHAPES = {'224': (224, 224), '512': (512, 512), '800x1333': (800, 1333)}
PRECISIONS = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def check_precision(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ValueError(f'benchmark: precision {precision!r} is not one of {list(PRECISIONS)}')
    return PRECISIONS[precision]


def autocast(device: torch.device, precision: str):
    """``torch.autocast`` for a mixed precision, nothing for fp32."""
    dtype = check_precision(precision)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@dataclass
class RowKey:
    """What every benchmark row names: the model, the input shape and its parameters."""
    model: str
    shape: str
    params_m: float


@dataclass
class Row(RowKey):
    gflops: Optional[float] = None
    forward_ms: Optional[float] = None
    train_ms: Optional[float] = None
    train_peak_mb: Optional[float] = None
    achieved_gflops_per_s: Optional[float] = None
    forward_runs: List[float] = field(default_factory=list, repr=False)
    train_runs: List[float] = field(default_factory=list, repr=False)


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def matmul_peak_gflops(device: torch.device, n: int = 2048, repeats: int = 5,
                       precision: str = 'fp32') -> float:
    """Measured matmul throughput in ``precision`` (2 n^3 FLOPs per product), best of
    ``repeats``."""
    dtype = check_precision(precision)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = float('inf')
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def train_step_fns(model: nn.Module, x: torch.Tensor, precision: str = 'fp32'):
    """(full step, forward+backward only): the step is timed; memory is measured on
    forward+backward, where activations peak (the optimizer's own temporaries are AdamW's,
    not the backbone's, and would mask what ``with_cp`` changes at small inputs).
    ``precision``: the forward under autocast; fp16 on CUDA scales the loss."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-6)
    scaler = torch.amp.GradScaler('cuda') if precision == 'fp16' and x.is_cuda else None

    def forward_backward():
        optimizer.zero_grad(set_to_none=True)
        with autocast(x.device, precision):
            outs = model(x)
            loss = sum(o.float().mean() for o in outs)
            aux = getattr(model, 'aux_losses', None)
            if aux is not None:  # our backbones' DP loss, as the task models add it
                loss = loss + sum(aux().values())
        (loss if scaler is None else scaler.scale(loss)).backward()

    def step():
        forward_backward()
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()

    return step, forward_backward


def peak_step_memory(step: Callable[[], None], device: torch.device) -> float:
    """Bytes allocated during ``step()`` above the allocation before it, in MiB."""
    if device.type == 'cuda':
        synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        synchronize(device)
        return (torch.cuda.max_memory_allocated(device) - base) / 2 ** 20
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'trace.json')
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)['traceEvents']
    # "Total Allocated" is a running total whose origin is not the start of this profile (it
    # drifts with blocks freed outside profiling): measure from the total before the step's
    # first event
    memory = sorted((e for e in events if e.get('name') == '[memory]'), key=lambda e: e['ts'])
    if not memory:
        return 0.
    base = memory[0]['args']['Total Allocated'] - memory[0]['args']['Bytes']
    return max(e['args']['Total Allocated'] - base for e in memory) / 2 ** 20


def rotated(names: List[str], r: int) -> List[str]:
    """Round r starts with model r: no model is always the first after a switch."""
    r %= len(names)
    return names[r:] + names[:r]


def timed_ms(fn: Callable[[], None], device: torch.device) -> float:
    """Wall time of ``fn()`` in ms: on CUDA between two CUDA events recorded on the current
    stream around it (after a synchronize, so earlier work is not counted), elsewhere by the
    host clock."""
    synchronize(device)
    if device.type == 'cuda':
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


@keeps_global_rng  # seeds each model's initialisation, restores the caller's state
def run_benchmark(specs: Sequence[str], shapes: Sequence[str] = ('224', '512', '800x1333'),
                  device: str = 'cpu', batch: int = 1, warmup: int = 1, repeats: int = 5,
                  train: bool = True, flops: bool = True, with_cp_rows: bool = False,
                  log: Callable[[str], None] = print,
                  precision: str = 'fp32',
                  compile_options: Optional[dict] = None) -> Tuple[List[Row], float]:
    """Measures every model at every shape; returns the rows and the matmul peak (GFLOP/s,
    in ``precision``).

    ``with_cp_rows``: our models also get a training row with gradient checkpointing on.
    ``precision``: 'fp32', 'fp16' or 'bf16' (autocast); rows are named ``model [fp16]``.
    ``compile_options``: every model also gets a row ``model [compiled]``, the same network
    (same weights' init) compiled in place with ``torch.compile(**compile_options)``; the
    warm-up runs include the compilation, the timed runs do not.
    """
    check_precision(precision)
    dev = torch.device(device)
    for shape_name in shapes:
        parse_shape(shape_name)  # fail before building anything
    entries, compiled_from = [], {}
    for spec in specs:
        name, cfg = parse_model_spec(spec)
        entries.append((name, cfg, False))
        if compile_options is not None:
            entries.append((f'{name} [compiled]', cfg, False))
            compiled_from[f'{name} [compiled]'] = name
        if with_cp_rows and not cfg['type'].startswith('mmdet.'):
            entries.append((f'{name} (with_cp)', dict(cfg, with_cp=True), True))
    models = {}
    for name, cfg, _ in entries:
        torch.manual_seed(0)
        models[name] = build_backbone(cfg).to(dev)
        if name in compiled_from:
            models[name].compile(**compile_options)
    # half-precision matmuls on a CPU without native support run at a few GFLOP/s: a smaller
    # product there (the peak is a reference for the % column, not a result)
    n = 2048 if dev.type == 'cuda' or precision == 'fp32' else 512
    peak = matmul_peak_gflops(dev, n, precision=precision)
    log(f'{precision} matmul peak on {device}: {peak:.1f} GFLOP/s '
        f'({torch.get_num_threads()} threads)')
    suffix = precision_suffix(precision)
    rows: List[Row] = []
    t0 = time.perf_counter()
    for k, shape_name in enumerate(shapes):
        hw = parse_shape(shape_name)
        log(f'[{k + 1}/{len(shapes)}] input {shape_name}: {len(entries)} models, forward then '
            f'training steps ({time.perf_counter() - t0:.0f} s elapsed'
            + (f', about {(time.perf_counter() - t0) / k * (len(shapes) - k):.0f} s left)'
               if k else ')'))
        # one input per channel count (mmdet's backbones: 3), shared by the models that take it
        inputs = {c: torch.randn(batch, c, *hw, device=dev)
                  for c in {getattr(m, 'in_channels', 3) for m in models.values()}}
        x_of = {name: inputs[getattr(m, 'in_channels', 3)] for name, m in models.items()}
        shape_rows = {}
        for name, cfg, cp_only in entries:
            model = models[name]
            row = Row(name + suffix, shape_name, count_params(model) / 1e6)
            if name in compiled_from:  # the same network as its eager row
                row.gflops = shape_rows[compiled_from[name]].gflops
            elif flops and not cp_only:
                row.gflops = count_flops(copy.deepcopy(model).cpu(), hw) * batch / 1e9
            shape_rows[name] = row
        # forward latency, interleaved rounds
        timed = [name for name, _, cp_only in entries if not cp_only]
        with torch.no_grad(), autocast(dev, precision):
            slowest = 0.
            for name in timed:
                models[name].eval()
                # compiled: the first calls compile (and recompile for a new mode/shape)
                for _ in range(warmup if name not in compiled_from else max(warmup, 2)):
                    slowest = max(slowest, timed_ms(lambda: models[name](x_of[name]), dev))
            # short forwards are noisy: at least ~2 s of timed runs per model
            rounds = max(repeats, min(50, int(2000 / max(slowest, 1e-3))))
            for r in range(rounds):
                for name in rotated(timed, r):
                    shape_rows[name].forward_runs.append(
                        timed_ms(lambda: models[name](x_of[name]), dev))
        for name in timed:
            row = shape_rows[name]
            row.forward_ms = statistics.median(row.forward_runs)
            if row.gflops:
                row.achieved_gflops_per_s = 2 * row.gflops / (row.forward_ms / 1e3)
            log(f'{shape_name} forward {name}: {row.forward_ms:.1f} ms')
        if train:
            steps, fwd_bwd = {}, {}
            for name, _, _ in entries:
                models[name].train()
                steps[name], fwd_bwd[name] = train_step_fns(models[name], x_of[name],
                                                            precision)
                for _ in range(warmup if name not in compiled_from else max(warmup, 2)):
                    steps[name]()
            for r in range(max(1, repeats // 2)):
                for name in rotated(list(steps), r):
                    shape_rows[name].train_runs.append(timed_ms(steps[name], dev))
            for name in steps:
                shape_rows[name].train_ms = statistics.median(shape_rows[name].train_runs)
                shape_rows[name].train_peak_mb = peak_step_memory(fwd_bwd[name], dev)
                log(f'{shape_name} train {name}: {shape_rows[name].train_ms:.1f} ms, '
                    f'peak {shape_rows[name].train_peak_mb:.0f} MiB')
            for model in models.values():
                model.eval()
        rows += list(shape_rows.values())
    return rows, peak


COLUMNS = [('model', 'model'), ('shape', 'input'), ('params_m', 'params (M)'),
           ('gflops', 'GFLOPs'), ('forward_ms', 'forward (ms)'),
           ('achieved_gflops_per_s', 'GFLOP/s'), ('train_ms', 'train step (ms)'),
           ('train_peak_mb', 'train peak (MiB)')]


def _fmt(value) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.2f}' if value < 100 else f'{value:.0f}'
    return str(value)


def to_markdown(rows: Sequence[Row], peak: float, header: str = '') -> str:
    lines = [header] if header else []
    precision = next((p for p in PRECISIONS if rows and rows[0].model.endswith(f'[{p}]')),
                     'fp32')
    lines += [f'{precision} matmul peak: {peak:.1f} GFLOP/s', '',
              '| ' + ' | '.join(title for _, title in COLUMNS) + ' | % of peak |',
              '|' + '---|' * (len(COLUMNS) + 1)]
    for row in rows:
        cells = [_fmt(getattr(row, key)) for key, _ in COLUMNS]
        share = (f'{100 * row.achieved_gflops_per_s / peak:.0f}%'
                 if row.achieved_gflops_per_s else '-')
        lines.append('| ' + ' | '.join(cells + [share]) + ' |')
    return '\n'.join(lines) + '\n'


def to_csv(rows: Sequence[Row], peak: float) -> str:
    keys = [key for key, _ in COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(keys + ['matmul_peak_gflops_per_s'])
    for row in rows:
        values = asdict(row)
        writer.writerow(['' if values[k] is None else values[k] for k in keys] + [f'{peak:.1f}'])
    return out.getvalue()


_RUNS_OF = {'forward_ms': 'forward_runs', 'train_ms': 'train_runs'}  # kept per-round times


def ratio_rounds(rows: Sequence, num: str, den: str, shape: str, key: str
                 ) -> Optional[List[float]]:
    """``key`` of model ``num`` over model ``den`` at ``shape``, one value per interleaved
    round where the rows keep their runs (``forward_ms`` -> ``forward_runs``, ``train_ms`` ->
    ``train_runs``; the two runs of a round are seconds apart, so a machine's slow drifts
    cancel), else the one ratio of the values; None if either row or value is missing. Rows
    of :class:`Row` or ``DetectorRow``."""
    by_name = {r.model: r for r in rows if r.shape == shape}
    a, b = by_name.get(num), by_name.get(den)
    if a is None or b is None or getattr(a, key) is None or not getattr(b, key):
        return None
    runs_key = _RUNS_OF.get(key)
    runs_a, runs_b = (getattr(a, runs_key, None), getattr(b, runs_key, None)) if runs_key \
        else (None, None)
    if runs_a and runs_b and len(runs_a) == len(runs_b):
        return [x / y for x, y in zip(runs_a, runs_b)]
    return [getattr(a, key) / getattr(b, key)]


def ratio(rows: Sequence, num: str, den: str, shape: str, key: str) -> Optional[float]:
    """The median of :func:`ratio_rounds` (not the ratio of the medians); None if missing."""
    rounds = ratio_rounds(rows, num, den, shape, key)
    return None if rounds is None else statistics.median(rounds)


def precision_suffix(precision: str) -> str:
    """What a row's name carries for its precision: '' for fp32, ' [fp16]' otherwise."""
    return '' if check_precision(precision) == torch.float32 else f' [{precision}]'
