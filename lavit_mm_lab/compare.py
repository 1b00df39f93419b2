"""Configs x seeds -> one table: each run trained by tools/train.py (the real Runner), its
final evaluation read back from mmengine's logged scalars, aggregated per config as mean and
standard deviation, with params, FLOPs and wall time; plus the learning curves.

A comparison is a folder: ``WORK/<config name>/seed<S>/`` per run. A run that finished holds
``result.json`` and is never re-run; a run that was killed resumes from its last checkpoint
(mmengine's ``--resume``), so a killed comparison, started again with the same command,
continues where it stopped. A run's folder is locked while a process trains it: a second
comparison on the same folder is refused, not mixed in. Works for any task: the metrics are
whatever the config's evaluator logs (top-1, COCO mAP, mIoU).
"""
import csv
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lavit_mm.engine.config import build_model, config_scope, load_config

RESULT = 'result.json'
LOCK = 'running.pid'  # the process training a run's folder; two in one folder corrupt it
_NOT_METRICS = ('data_time', 'time', 'step', 'epoch', 'iter', 'memory')


# ---------------------------------------------------------------------------- reading runs
def read_scalars(work_dir: str) -> List[dict]:
    """Every record mmengine logged in ``work_dir`` (``*/vis_data/scalars.json``), over all the
    attempts of a resumed run, in order; a step logged again after a resume (the killed
    attempt got past its last checkpoint) keeps the resumed attempt's record.

    An evaluation record gets ``iter``: the iteration of the training record logged before it
    (mmengine gives evaluations only ``step``, the epoch, which is 0 for every evaluation of
    an iteration-based run)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did it train?')
    merged: Dict[tuple, dict] = {}
    for path in files:  # timestamped folders: oldest first
        last_iter = 0
        with open(path) as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    if is_training_record(record):
                        last_iter = record.get('iter', last_iter)
                        merged[('train', last_iter)] = record
                    else:
                        record.setdefault('iter', last_iter)
                        merged[('val', record['iter'])] = record
    return list(merged.values())


def is_training_record(record: dict) -> bool:
    return 'loss' in record or any(k.endswith('lr') for k in record)


def evaluations(records: Sequence[dict]) -> List[dict]:
    """The metric dicts of the evaluation records (no losses, no learning rate, no timing)."""
    return [{k: v for k, v in r.items() if k not in _NOT_METRICS} for r in records
            if not is_training_record(r)]


def train_run(config: str, work_dir: str, options: Sequence[str] = (),
              resume: bool = False) -> None:
    """``python -m lavit_mm.apis.train CONFIG`` (what tools/train.py runs) in a subprocess,
    its output in ``work_dir/train.out``."""
    command = [sys.executable, '-m', 'lavit_mm.apis.train', config, '--work-dir', work_dir]
    command += ['--resume'] if resume else []
    command += ['--cfg-options', *options] if options else []
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'train.out'), 'a') as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f'training failed (exit {done.returncode}): {" ".join(command)}; '
                           f'see {osp.join(work_dir, "train.out")}')


def train_and_read(config: str, work_dir: str, options: Sequence[str] = ()) -> List[dict]:
    """Trains ``config`` in ``work_dir`` (subprocess) and returns its logged records."""
    train_run(config, work_dir, options)
    return read_scalars(work_dir)


# ---------------------------------------------------------------------------- one run
def _checkpoint_epoch_or_iter(work_dir: str) -> int:
    """The epoch (or iteration) of the checkpoint a resume would start from; 0 if none."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return 0
    name = osp.splitext(osp.basename(open(marker).read().strip()))[0]  # epoch_3 / iter_300
    number = name.rsplit('_', 1)[-1]
    return int(number) if number.isdigit() else 0


def load_with_options(config: str, options: Sequence[str] = ()):
    """The config with ``key=value`` overrides, parsed by mmengine's DictAction and applied
    by ``load_config``: as tools/train.py applies ``--cfg-options``."""
    import argparse

    from mmengine.config import DictAction

    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    parsed = parser.parse_args(['--cfg-options', *options] if options else [])
    return load_config(config, parsed.cfg_options)


def _length(config: str, options: Sequence[str]) -> tuple:
    """('epoch' or 'iter', the run's length) from the config's train_cfg."""
    cfg = load_with_options(config, options)
    train_cfg = cfg.get('train_cfg', {})
    if 'max_epochs' in train_cfg:
        return 'epoch', int(train_cfg['max_epochs'])
    return 'iter', int(train_cfg['max_iters'])


def _time_unit(unit: str) -> str:
    """What a time is given per: an epoch (epoch-based loops) or the whole run
    (iteration-based ones, whose result files may say 'iter')."""
    return 'run' if unit == 'iter' else unit


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def run_lock(work_dir: str):
    """Holds ``work_dir/running.pid`` while this process trains the run. A second comparison
    started on the same folder is refused: two trainings there overwrite each other's
    checkpoints, and the result read back mixes their logs. A lock whose process is gone (a
    killed comparison) is taken over."""
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK)
    mine = f'{path}.{os.getpid()}'
    with open(mine, 'w') as f:
        f.write(str(os.getpid()))
    try:
        while True:
            try:
                os.link(mine, path)  # atomic: the lock appears with its pid written
                break
            except FileExistsError:
                with open(path) as f:
                    text = f.read().strip()
                pid = int(text) if text.isdigit() else None
                if pid is not None and _alive(pid):
                    raise RuntimeError(
                        f'{work_dir} is being trained by process {pid} (lock {path}): wait '
                        f'for it to finish, or stop it, before training this run again; two '
                        f'trainings in one folder overwrite each other\'s checkpoints'
                    ) from None
                os.remove(path)  # stale: its process is gone
    finally:
        os.remove(mine)
    try:
        yield
    finally:
        os.remove(path)


def run_once(config: str, seed: int, work_dir: str, options: Sequence[str] = (),
             train: Callable = train_run) -> dict:
    """One (config, seed) run in ``work_dir``: read back if finished, resumed if killed,
    trained otherwise. Returns its result (also written to ``work_dir/result.json``)."""
    path = osp.join(work_dir, RESULT)
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    options = [*options, f'randomness.seed={seed}']
    with run_lock(work_dir):
        if osp.isfile(path):  # finished by another process since the check above
            with open(path) as f:
                return json.load(f)
        return _train_and_record(config, seed, work_dir, options, train)


def _train_and_record(config: str, seed: int, work_dir: str, options: Sequence[str],
                      train: Callable) -> dict:
    """Trains (or resumes) the run, reads its logs back into its result, writes it."""
    path = osp.join(work_dir, RESULT)
    unit, length = _length(config, options)
    start = _checkpoint_epoch_or_iter(work_dir)
    t0 = time.perf_counter()
    train(config, work_dir, options, resume=start > 0)
    seconds = time.perf_counter() - t0
    records = read_scalars(work_dir)
    evals = evaluations(records)
    if not evals:
        raise RuntimeError(f'{work_dir}: the run logged no evaluation; the comparison needs '
                           f'one (set train_cfg.val_interval so that the last '
                           f'{unit} is evaluated)')
    times = sorted(r['time'] for r in records if 'loss' in r and 'time' in r)
    last_iter = max((r['iter'] for r in records if 'loss' in r and 'iter' in r), default=0)
    iters_per_unit = last_iter / length if unit == 'epoch' else last_iter
    result = dict(config=config, seed=seed, options=list(options), metrics=evals[-1],
                  unit=_time_unit(unit), length=length, resumed_from=start,
                  # training speed: the median logged iteration time (robust to a busy
                  # moment on a shared machine) x iterations per epoch (or per run)
                  seconds_per_unit=times[len(times) // 2] * iters_per_unit if times else None,
                  # wall time of the attempt that finished, scaled to one epoch (or one whole
                  # run); start-up and evaluations included
                  wall_seconds_per_unit=seconds / max(length - start, 1)
                  * (length if unit == 'iter' else 1))
    with open(path + '.part', 'w') as f:
        json.dump(result, f, indent=1)
    os.replace(path + '.part', path)
    return result


# ---------------------------------------------------------------------------- aggregation
@dataclass
class Row:
    name: str
    seeds: List[int]
    metrics: Dict[str, List[float]]
    seconds_per_unit: List[float]
    unit: str
    params_m: Optional[float] = None
    gflops: Optional[float] = None

    def mean_std(self, key: str) -> tuple:
        """Mean and sample standard deviation (None for a single seed)."""
        values = self.metrics[key]
        return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def run_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def aggregate(results: Dict[str, List[dict]]) -> List[Row]:
    """Per-config rows from the per-run results. All runs must report the same metrics:
    a table that averages top-1 with mAP would mean nothing."""
    rows, keys, first = [], None, None
    for name, runs in results.items():
        for run in runs:
            run_keys = sorted(run['metrics'])
            if keys is None:
                keys, first = run_keys, (name, run['seed'])
            elif run_keys != keys:
                raise ValueError(
                    f'cannot aggregate runs with different metrics: {name} seed {run["seed"]} '
                    f'reports {run_keys}, {first[0]} seed {first[1]} reports {keys}. Compare '
                    f'configs of one task and evaluator (or pass --metric to pick one they '
                    f'share)')
        rows.append(Row(name, [r['seed'] for r in runs],
                        {k: [float(r['metrics'][k]) for r in runs] for k in keys},
                        [r['seconds_per_unit'] for r in runs], _time_unit(runs[0]['unit'])))
    return rows


def select_metrics(results: Dict[str, List[dict]], metrics: Sequence[str]) -> None:
    """Keeps only ``metrics`` in every run's result; a run that lacks one is an error."""
    for name, runs in results.items():
        for run in runs:
            missing = [m for m in metrics if m not in run['metrics']]
            if missing:
                raise ValueError(f'{name} seed {run["seed"]} does not report {missing} '
                                 f'(it reports {sorted(run["metrics"])})')
            run['metrics'] = {m: run['metrics'][m] for m in metrics}


def complexity(config: str, options: Sequence[str] = ()) -> tuple:
    """(params in M, GFLOPs) of the config's model on one real sample of its val set, through
    the toolbox's own data pipeline and data preprocessor (multiply-adds, as the papers)."""
    import torch
    from mmengine.analysis import FlopAnalyzer
    from mmengine.registry import DATASETS

    from .complexity import count_params, sdpa_flop_jit
    cfg = load_with_options(config, options)
    model = build_model(cfg).eval()
    with config_scope(cfg):
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
    batch = model.data_preprocessor({k: [v] for k, v in dataset[0].items()}, False)
    inputs = batch['inputs']

    class TensorMode(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, mode='tensor')

    analyzer = FlopAnalyzer(TensorMode(), (inputs, ))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    return count_params(model) / 1e6, flops / 1e9


def compare(configs: Sequence[str], seeds: Sequence[int], work_dir: str,
            options: Sequence[str] = (), metrics: Sequence[str] = (),
            train: Callable = train_run, with_complexity: bool = True,
            log: Callable[[str], None] = lambda s: None) -> List[Row]:
    """Runs (or reads back) every config x seed under ``work_dir`` and returns the rows."""
    names = [run_name(c) for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f'two configs share a file name ({names}): their runs would share '
                         f'a folder; rename one')
    results: Dict[str, List[dict]] = {}
    runs = [(c, n, s, osp.join(work_dir, n, f'seed{s}'))
            for c, n in zip(configs, names) for s in seeds]
    left_to_train = {c for c, _, _, d in runs if not osp.isfile(osp.join(d, RESULT))}
    lengths = {c: _length(c, options)[1] for c in left_to_train}  # read-backs load nothing
    spent, trained = 0.0, 0  # seconds and epochs (or iterations) trained in this call
    for i, (config, name, seed, run_dir) in enumerate(runs):
        done = osp.isfile(osp.join(run_dir, RESULT))
        left = sum(lengths[c] - _checkpoint_epoch_or_iter(d) for c, _, _, d in runs[i:]
                   if not osp.isfile(osp.join(d, RESULT)))
        log(f'[{i + 1}/{len(runs)}] {name} seed {seed}: '
            + ('done, read back' if done else 'training' + _eta(spent, trained, left)))
        t0 = time.perf_counter()
        result = run_once(config, seed, run_dir, options, train)
        if not done:
            spent += time.perf_counter() - t0
            trained += result['length'] - result['resumed_from']
        results.setdefault(name, []).append(result)
    if metrics:
        select_metrics(results, metrics)
    rows = aggregate(results)
    if with_complexity:
        for row, config in zip(rows, configs):
            cache = osp.join(work_dir, row.name, 'complexity.json')
            if not osp.isfile(cache):
                params, gflops = complexity(config, options)
                with open(cache, 'w') as f:
                    json.dump(dict(params_m=params, gflops=gflops), f)
            with open(cache) as f:
                c = json.load(f)
            row.params_m, row.gflops = c['params_m'], c['gflops']
    return rows


def _eta(seconds: float, trained: int, left: int) -> str:
    """' (about M min left)': the time per epoch (or iteration) trained so far in this call,
    times the epochs (iterations) left; a resumed run counts only what it trains."""
    if not trained:
        return ''
    return f' (about {seconds / trained * left / 60:.0f} min left)'


# ---------------------------------------------------------------------------- output
def _fmt(x: Optional[float], digits: int = 2) -> str:
    return '-' if x is None else f'{x:.{digits}f}'


def to_markdown(rows: Sequence[Row]) -> str:
    keys = list(rows[0].metrics)
    unit = rows[0].unit
    head = ['config', 'seeds'] + [f'{k} mean ± std' for k in keys] + \
        [f'{k} per seed' for k in keys] + ['params (M)', 'GFLOPs', f'train s / {unit}']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    # metrics in [0, 1] (COCO mAP) get three decimals, percentages (top-1, mIoU) two
    digits = {k: 3 if max(abs(v) for r in rows for v in r.metrics[k]) <= 1 else 2
              for k in keys}
    for r in rows:
        stats = [f'{_fmt(m, digits[k])} ± {_fmt(s, digits[k])}'
                 for k, (m, s) in zip(keys, map(r.mean_std, keys))]
        per_seed = [' / '.join(_fmt(v, digits[k]) for v in r.metrics[k]) for k in keys]
        cells = [r.name, ' '.join(map(str, r.seeds))] + stats + per_seed + \
            [_fmt(r.params_m), _fmt(r.gflops, 3), _fmt(statistics.median(r.seconds_per_unit), 1)]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def write_csv(rows: Sequence[Row], path: str) -> None:
    keys = list(rows[0].metrics)
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['config', 'seeds'] + [f'{k}_{s}' for k in keys for s in ('mean', 'std')]
                   + [f'{k}_per_seed' for k in keys]
                   + ['params_m', 'gflops', f'train_seconds_per_{rows[0].unit}_median'])
        for r in rows:
            w.writerow([r.name, ' '.join(map(str, r.seeds))]
                       + [_fmt(v, 4) for k in keys for v in r.mean_std(k)]
                       + [' '.join(f'{v:.4f}' for v in r.metrics[k]) for k in keys]
                       + [_fmt(r.params_m, 4), _fmt(r.gflops, 4),
                          _fmt(statistics.median(r.seconds_per_unit), 2)])


def _loss_and_metric_axes(figsize: Tuple[float, float]):
    """A figure with the training-loss axes (log scale) left and the metric axes right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    ax_loss, ax_metric = fig.subplots(1, 2)
    ax_loss.set(xlabel='iteration', ylabel='logged training loss', yscale='log')
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
    return fig, ax_loss, ax_metric


def smoothed(values: Sequence[float], window: int) -> List[float]:
    """Trailing mean over the last ``window`` values (fewer at the start); 1: unchanged."""
    if window < 1:
        raise ValueError(f'smoothing window must be >= 1, got {window}')
    out, total = [], 0.
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.)
        out.append(total / min(i + 1, window))
    return out


def _draw_run(ax_loss, ax_metric, records: Sequence[dict], metric: str, smooth: int = 1,
              **style) -> None:
    """One run: its logged training loss per iteration (with ``smooth`` > 1: faint, and its
    trailing mean over ``smooth`` logged points on top), ``metric`` per evaluation."""
    train = [r for r in records if 'loss' in r]
    evals = [r for r in records if not is_training_record(r) and metric in r]
    iters, loss = [r['iter'] for r in train], [r['loss'] for r in train]
    if smooth > 1:
        ax_loss.plot(iters, loss, lw=0.5, **{**style, 'alpha': 0.25, 'label': None})
        ax_loss.plot(iters, smoothed(loss, smooth), lw=1.2, **style)
        ax_loss.set_ylabel(f'logged training loss (faint), mean of {smooth} logged points')
    else:
        ax_loss.plot(iters, loss, lw=0.8, **style)
    ax_metric.plot([r['iter'] for r in evals], [r[metric] for r in evals], marker='o', ms=3,
                   lw=1, **style)
    ax_metric.set(xlabel='iteration (evaluated after)', ylabel=metric)


def _save(fig, path: str, dpi: int) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return path


def plot_curves(work_dir: str, rows: Sequence[Row], path: str,
                metric: Optional[str] = None) -> str:
    """Training loss (per logged iteration) and the validation metric (per evaluation) of
    every run, one colour per config, one line per seed."""
    metric = metric or list(rows[0].metrics)[0]
    fig, ax_loss, ax_metric = _loss_and_metric_axes((11, 4))
    for i, row in enumerate(rows):
        for k, seed in enumerate(row.seeds):
            _draw_run(ax_loss, ax_metric, read_scalars(osp.join(work_dir, row.name, f'seed{seed}')),
                      metric, color=f'C{i % 10}', alpha=0.8, label=row.name if k == 0 else None)
    ax_metric.legend(fontsize=7)
    return _save(fig, path, dpi=110)


def plot_run(work_dir: str, path: str, metric: Optional[str] = None) -> str:
    """One run's training loss (per logged iteration) and validation metric (per evaluation,
    the first one logged unless ``metric``) from its mmengine scalars, side by side."""
    return plot_runs([work_dir], path, metric=metric)


def plot_runs(work_dirs: Sequence[str], path: str, labels: Optional[Sequence[str]] = None,
              metric: Optional[str] = None, smooth: int = 1) -> str:
    """Several runs on shared axes, one colour each: training loss (``smooth``: trailing
    mean over that many logged points, the raw values faint) and the validation metric."""
    if labels is not None and len(labels) != len(work_dirs):
        raise ValueError(f'{len(labels)} labels for {len(work_dirs)} runs')
    runs = []
    for work_dir in work_dirs:
        records = read_scalars(work_dir)
        evals = evaluations(records)
        if not any('loss' in r for r in records) or not evals:
            raise ValueError(f'{work_dir} has no logged training loss or evaluation to plot: '
                             f'was it trained with a val_interval inside its schedule?')
        runs.append((records, evals))
    metric = metric or next(k for k in runs[0][1][0] if k not in ('step', 'iter', 'epoch'))
    fig, ax_loss, ax_metric = _loss_and_metric_axes((9, 3.5) if len(runs) == 1 else (11, 4))
    for i, (records, _) in enumerate(runs):
        style = dict(color=f'C{i % 10}', label=labels[i]) if labels else {}
        _draw_run(ax_loss, ax_metric, records, metric, smooth, **style)
    if labels:
        ax_metric.legend(fontsize=7)
    return _save(fig, path, dpi=100 if len(runs) == 1 else 110)
