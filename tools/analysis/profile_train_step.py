"""Where a training step spends its time, for several models side by side: the median step
time over interleaved rounds, then torch.profiler's operators by self time.

    # whole classifiers or detectors from their configs (mmengine train_step: data
    # preprocessor, neck, heads, losses incl. loss_dp, the config's optimizer wrapper with its
    # clipping and param groups)
    python tools/analysis/profile_train_step.py configs/small_data/lavit_t_fashion_mnist.py \\
        configs/small_data/pvt_t_fashion_mnist.py --shape 32 --batch 128
    python tools/analysis/profile_train_step.py \\
        configs/neon_trees/retinanet_lavit_t_neon_trees.py \\
        configs/neon_trees/retinanet_pvt_t_neon_trees.py --shape 320 --batch 4
    # bare backbones as in tools/benchmark.py (mean-of-outputs loss + DP loss, AdamW)
    python tools/analysis/profile_train_step.py "lavit1_t+arch='pvt1-tiny-32px'" \\
        "pvt_t+arch='tiny-32px'" --shape 32 --batch 128

A config may carry overrides: ``CONFIG.py+key=value,...`` sets ``model.backbone`` keys
(``configs/small_data/lavit_t_fashion_mnist.py+less_attention.dp_loss.weight=0.0``).
Inputs are random
images of the config's channel count with random labels (classifiers) or 20 random boxes of
16-64 px per image (detectors). The profiler adds overhead to every
operator: read its table as shares within a model, the timing table for ratios.
"""
import argparse
import statistics
from collections import defaultdict
from typing import Callable, Tuple

import torch
from torch.profiler import ProfilerActivity, profile

from lavit_mm_lab.benchmark import parse_shape, rotated, timed_ms, train_step_fns
from lavit_mm.models.model_spec import build_backbone, parse_keywords, parse_model_spec
from lavit_mm_lab.compare import load_with_options
from lavit_mm_lab.task_step import task_train_step


def config_step(spec: str, batch: int, hw: Tuple[int, int]) -> Callable[[], None]:
    """One mmengine ``train_step`` of the config's classifier or detector on random data."""
    path, _, overrides = spec.partition('+')
    cfg = load_with_options(path)
    cfg.model.backbone.update(parse_keywords(overrides, spec))
    return task_train_step(cfg, batch, hw)[0]


def backbone_step(spec: str, batch: int, hw: Tuple[int, int]) -> Callable[[], None]:
    _, cfg = parse_model_spec(spec)
    model = build_backbone(cfg).train()
    x = torch.randn(batch, getattr(model, 'in_channels', 3), *hw)
    return train_step_fns(model, x)[0]


def profile_ops(step: Callable[[], None], steps: int) -> dict:
    """{operator: self CPU ms per step} over ``steps`` steps."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    per_op = defaultdict(float)
    for event in prof.key_averages():
        per_op[event.key] += event.self_cpu_time_total / 1e3 / steps
    return dict(per_op)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='+')
    parser.add_argument('--shape', default='32', help='N or HxW')
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--rounds', type=int, default=6, help='timed steps per model')
    parser.add_argument('--steps', type=int, default=2, help='profiled steps per model')
    parser.add_argument('--top', type=int, default=15, help='operators listed')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    hw = parse_shape(args.shape)
    steps = {}
    for spec in args.models:
        torch.manual_seed(0)
        make = config_step if spec.partition('+')[0].endswith('.py') else backbone_step
        steps[spec] = make(spec, args.batch, hw)
        steps[spec]()  # warm-up
    times = {name: [] for name in steps}
    for r in range(args.rounds):  # interleaved, order rotated: drift hits every model alike
        for name in rotated(list(steps), r):
            times[name].append(timed_ms(steps[name], torch.device('cpu')) / 1e3)
    first = next(iter(times))
    print(f'Training step, batch {args.batch}, input {args.shape}, '
          f'{torch.get_num_threads()} threads, median of {args.rounds} interleaved rounds\n')
    print('| model | step (ms) | vs first | per-round (ms) |\n|---|---|---|---|')
    for name, t in times.items():
        ratio = statistics.median(t) / statistics.median(times[first])
        print(f'| {name} | {statistics.median(t) * 1e3:.0f} | {ratio:.2f}x | '
              + ' '.join(f'{v * 1e3:.0f}' for v in t) + ' |')
    results = {name: profile_ops(step, args.steps) for name, step in steps.items()}
    ops = sorted({op for r in results.values() for op in r},
                 key=lambda op: -max(r.get(op, 0.) for r in results.values()))[:args.top]
    print('\nCPU self time per step (ms), by operator (profiled)\n')
    print('| operator | ' + ' | '.join(results) + ' |')
    print('|---|' + '---|' * len(results))
    for op in ops:
        print(f'| `{op}` | ' + ' | '.join(f'{r.get(op, 0.):.1f}' for r in results.values())
              + ' |')
    print('| **total** | ' + ' | '.join(f'**{sum(r.values()):.1f}**' for r in results.values())
          + ' |')


if __name__ == '__main__':
    main()
