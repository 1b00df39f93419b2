"""Benchmark backbones in one process: params, FLOPs, forward latency, training-step time and
peak memory at 224x224, 512x512 and 800x1333; prints a Markdown table and writes it with a CSV.

    python tools/benchmark.py                                   # the README table
    python tools/benchmark.py --models lavit_s pvt_s mmdet_pvt_s --shapes 800x1333
    python tools/benchmark.py --models configs/retinanet_lavit_s.py \\
        'lavit_s+less_attention.key_stride=2' \\
        "dict(type='lavit_mm.LaViT', arch='tiny', less_attention=dict(head_mix=True))" --device cuda
    # the issue's GPU table: backbones and whole RetinaNet detectors, fp32 and AMP, compiled
    python tools/benchmark.py --shapes 800x1333 --batch 2 --precision fp32 fp16 bf16 \\
        --compile --detector

Models: a preset name (see --list), ``preset+key=value,...``, a config file (its
model.backbone), or a dict literal. Timings are interleaved across models, so ratios between
rows of one run are meaningful; compare absolute times only across runs on the same machine.
"""
import argparse
import statistics
import os
import sys

import torch

from lavit_mm_lab.benchmark import (PRECISIONS, SHAPES, precision_suffix, ratio_rounds,
                                    run_benchmark, to_csv, to_markdown)
from lavit_mm_lab.detector_benchmark import detector_markdown, run_detector_benchmark
from lavit_mm.models.model_spec import PRESETS

DEFAULT_MODELS = ['lavit_s', 'pvtv2_b2', 'mmdet_pvtv2_b2', 'lavit1_s', 'lavit1_s_ks2',
                  'lavit_s_lite', 'pvt_s', 'mmdet_pvt_s', 'swin_t', 'mmdet_swin_t']
SUMMARY = [  # (what, numerator, denominator, measure)
    ('LaViT-S / PVTv2-b2 forward latency', 'lavit_s', 'pvtv2_b2', 'forward_ms'),
    ('LaViT-S / PVTv2-b2 training step', 'lavit_s', 'pvtv2_b2', 'train_ms'),
    ('LaViT-S / PVTv2-b2 FLOPs', 'lavit_s', 'pvtv2_b2', 'gflops'),
    ('LaViT on PVTv2-b2 / PVTv2-b2 forward latency', 'lavit_pvtv2_b2', 'pvtv2_b2',
     'forward_ms'),
    ('LaViT on PVTv2-b2 / PVTv2-b2 training step', 'lavit_pvtv2_b2', 'pvtv2_b2', 'train_ms'),
    ('LaViT-S DP loss on / off, training step', 'lavit_s',
     'lavit_s+less_attention.dp_loss.weight=0',
     'train_ms'),
    ('ours / mmdet PVTv2-b2 forward latency', 'pvtv2_b2', 'mmdet_pvtv2_b2', 'forward_ms'),
    ('ours / mmdet PVTv2-b2 training step', 'pvtv2_b2', 'mmdet_pvtv2_b2', 'train_ms'),
    ('LaViT-S v1 / PVT-S forward latency', 'lavit1_s', 'pvt_s', 'forward_ms'),
    ('LaViT-S v1 / PVT-S FLOPs', 'lavit1_s', 'pvt_s', 'gflops'),
    ('LaViT-S v1 (la_key_stride=2) / PVT-S forward latency', 'lavit1_s_ks2', 'pvt_s',
     'forward_ms'),
    ('LaViT-S v1 (la_key_stride=2) / PVT-S FLOPs', 'lavit1_s_ks2', 'pvt_s', 'gflops'),
    ('LaViT-S lite / PVT-S forward latency', 'lavit_s_lite', 'pvt_s', 'forward_ms'),
    ('LaViT-S lite / PVT-S FLOPs', 'lavit_s_lite', 'pvt_s', 'gflops'),
    ('ours / mmdet PVT-S forward latency', 'pvt_s', 'mmdet_pvt_s', 'forward_ms'),
    ('ours / mmdet Swin-T forward latency', 'swin_t', 'mmdet_swin_t', 'forward_ms'),
    ('ours / mmdet Swin-T training step', 'swin_t', 'mmdet_swin_t', 'train_ms'),
    ('ours / timm PVTv2-b2 forward latency', 'pvtv2_b2', 'timm_pvtv2_b2', 'forward_ms'),
    ('ours / timm PVTv2-b2 training step', 'pvtv2_b2', 'timm_pvtv2_b2', 'train_ms'),
    ('ours / timm PVTv2-b2 train peak memory', 'pvtv2_b2', 'timm_pvtv2_b2', 'train_peak_mb'),
    ('ours / timm Swin-T forward latency', 'swin_t', 'timm_swin_t', 'forward_ms'),
    ('ours / timm Swin-T training step', 'swin_t', 'timm_swin_t', 'train_ms'),
    ('ours / timm Swin-T train peak memory', 'swin_t', 'timm_swin_t', 'train_peak_mb'),
    ('LaViT-S / timm PVTv2-b2 forward latency', 'lavit_s', 'timm_pvtv2_b2', 'forward_ms'),
    ('LaViT-S / timm PVTv2-b2 training step', 'lavit_s', 'timm_pvtv2_b2', 'train_ms'),
    ('LaViT-S with_cp / without, train peak memory', 'lavit_s (with_cp)', 'lavit_s',
     'train_peak_mb'),
    ('PVT-S with_cp / without, train peak memory', 'pvt_s (with_cp)', 'pvt_s', 'train_peak_mb'),
]
DETECTOR_MODELS = ['lavit_s', 'pvtv2_b2', 'pvt_s', 'swin_t', 'lavit_s_lite', 'mmdet_pvt_s',
                   'mmdet_pvtv2_b2', 'mmdet_swin_t']
DETECTOR_SUMMARY = [  # the targets, on the whole-detector training step
    ('ours / mmdet PVT-S detector step', 'pvt_s', 'mmdet_pvt_s', 'train_ms'),
    ('ours / mmdet PVT-S detector peak memory', 'pvt_s', 'mmdet_pvt_s', 'train_peak_mb'),
    ('ours / mmdet Swin-T detector step', 'swin_t', 'mmdet_swin_t', 'train_ms'),
    ('ours / mmdet PVTv2-b2 detector step', 'pvtv2_b2', 'mmdet_pvtv2_b2', 'train_ms'),
    ('LaViT-S / PVTv2-b2 detector step', 'lavit_s', 'pvtv2_b2', 'train_ms'),
    ('LaViT on PVTv2-b2 / PVTv2-b2 detector step', 'lavit_pvtv2_b2', 'pvtv2_b2', 'train_ms'),
]


def ratio_table(summary, rows, shapes, suffix: str) -> str:
    """The Markdown table of the ``summary`` ratios found in ``rows`` ('' if none): rows of
    precision ``suffix`` (' [fp16]'), one line per ratio and input."""
    lines = []
    for what, num, den, key in summary:
        for shape in shapes:
            rounds = ratio_rounds(rows, num + suffix, den + suffix, shape, key)
            if rounds is not None:
                spread = (f'{min(rounds):.2f}-{max(rounds):.2f}x ({len(rounds)} rounds)'
                          if len(rounds) > 1 else '-')
                lines.append(f'| {what} | {shape} | {statistics.median(rounds):.2f}x | '
                             f'{spread} |')
    if not lines:
        return ''
    return ('\n| ratio | input | median of the rounds | range |\n|---|---|---|---|\n'
            + '\n'.join(lines) + '\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=DEFAULT_MODELS)
    parser.add_argument('--shapes', nargs='+', default=list(SHAPES),
                        help='inputs, N or HxW (default: 224 512 800x1333)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--precision', nargs='+', default=['fp32'], choices=list(PRECISIONS),
                        help='fp32 and/or mixed precisions (autocast; fp16 steps on CUDA with '
                        'loss scaling): one table per precision, each with its matmul peak')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed forwards per model and shape (training steps: half)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--no-train', action='store_true', help='skip training steps/memory')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument('--with-cp', action='store_true',
                        help='add a training row with gradient checkpointing for our models')
    parser.add_argument('--compile', action='store_true',
                        help='add a [compiled] row per model (torch.compile, in place)')
    parser.add_argument('--compile-backend', default='inductor')
    parser.add_argument('--compile-mode', default=None,
                        help="torch.compile mode (e.g. 'max-autotune'; default: torch's)")
    parser.add_argument('--detector', nargs='?', const='configs/retinanet_lavit_s.py',
                        default=None, metavar='CONFIG',
                        help='also time the whole detector of CONFIG (default RetinaNet+FPN '
                        'of configs/retinanet_lavit_s.py) with each of --detector-models as '
                        'its backbone: training step, images/s, peak memory')
    parser.add_argument('--detector-models', nargs='+', default=DETECTOR_MODELS)
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    parser.add_argument('--list', action='store_true', help='list the preset names')
    args = parser.parse_args(argv)
    if args.list:
        for name, cfg in PRESETS.items():
            print(f'{name:16s} {cfg}')
        return 0
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is visible; use --device cpu')
    if args.threads:
        torch.set_num_threads(args.threads)
    device_name = (torch.cuda.get_device_name(args.device) if args.device.startswith('cuda')
                   else f'CPU, {torch.get_num_threads()} threads')
    compile_options = None
    if args.compile:
        compile_options = dict(backend=args.compile_backend)
        if args.compile_mode:
            compile_options['mode'] = args.compile_mode
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    tables, csvs = [], []
    for precision in args.precision:
        rows, peak = run_benchmark(args.models, args.shapes, args.device, args.batch,
                                   args.warmup, args.repeats, not args.no_train,
                                   not args.no_flops, args.with_cp, log=log,
                                   precision=precision, compile_options=compile_options)
        table = to_markdown(rows, peak, f'Device: {device_name}; batch {args.batch}; '
                            f'{precision}; torch {torch.__version__}\n')
        suffix = precision_suffix(precision)
        table += ratio_table(SUMMARY, rows, args.shapes, suffix)
        if args.detector:
            det_rows = run_detector_benchmark(args.detector_models, args.detector, args.shapes,
                                              args.device, args.batch, args.warmup,
                                              max(1, args.repeats // 2), precision,
                                              compile_options, log)
            table += '\n' + detector_markdown(det_rows, args.detector, args.batch)
            table += ratio_table(DETECTOR_SUMMARY, det_rows, args.shapes, suffix)
        print(table)
        tables.append(table)
        csvs.append(to_csv(rows, peak) if not csvs else to_csv(rows, peak).split('\n', 1)[1])
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, 'benchmark.md'), 'w') as f:
        f.write('\n'.join(tables))
    with open(os.path.join(args.out_dir, 'benchmark.csv'), 'w') as f:
        f.write(''.join(csvs))
    print(f'written: {args.out_dir}/benchmark.md, {args.out_dir}/benchmark.csv')
    return 0


if __name__ == '__main__':
    sys.exit(main())
