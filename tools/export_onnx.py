"""Export backbones, or whole task models up to their raw outputs, to ONNX (opset 17, dynamic
batch/height/width) and check each file in onnxruntime against PyTorch at several input sizes.

    # backbones, exported at 224x224, checked at 224x224 and 200x264 (H x W)
    python tools/export_onnx.py lavit_t lavit_swin_t pvt_t swin_t --sizes 224x224 200x264
    # a whole model from a config, with its trained weights, at sizes of its own (@)
    python tools/export_onnx.py configs/demo/retinanet_lavit_t_synthetic.py@256x256,200x264 \\
        --checkpoint work_dirs/retinanet_lavit_t_synthetic/iter_300.pth

Models: a preset (``lavit_t``; see ``tools/benchmark.py --list``), ``preset+key=value,...``,
a dict literal (a backbone), or a config file: its whole task model (``--backbone-only``: its
``model.backbone``). ``MODEL@HxW,HxW`` gives that model its own sizes. The export runs at the
model's first size; every size is then run in onnxruntime and PyTorch on the same random
input: per output, the max absolute difference, and the median latency of each runtime
(interleaved runs, same threads). A difference above ``--atol`` fails the run (exit code 1).

What is exported (``lavit_mm/apis/export.py``):
- backbone: image -> the feature maps of ``out_indices`` (``stage1``...``stage4``);
- RetinaNet (single-stage detectors): backbone + FPN + ``bbox_head.forward``: per level
  ``cls_score_<l>`` (B, A*K, H_l, W_l) and ``bbox_pred_<l>`` (B, A*4, H_l, W_l);
- Semantic FPN (segmentors): backbone + FPN + ``decode_head.forward``: ``seg_logits``
  (B, K, H/4, W/4);
- classifiers: backbone + neck + head: ``cls_score`` (B, K) logits.
The input is the preprocessed (normalised) batch. Not exported, and what mmdeploy would add:
the data preprocessor (normalisation, BGR->RGB, padding to the size divisor: mmdeploy's SDK
pipeline), anchor generation, box decoding, score threshold and NMS (mmdeploy exports them as
ONNX ops, or as its TensorRT batched-NMS plugin), resizing the seg logits to the image and argmax,
data samples (image metas, scale factors) in and out, and deploy configs per backend
(ONNX Runtime / TensorRT / OpenVINO) with static or min/opt/max dynamic shapes. See
docs/export.md.

Exporter: ``torch.onnx.export(..., dynamo=False)``, the TorchScript-based one (the dynamo
exporter needs the ``onnxscript`` package, not part of ``pip install lavit_mm[export]``, and
where we tried it, it specialised size branches: docs/export.md).
"""
import argparse
import os
import sys

import torch
from mmengine.config import DictAction
from mmengine.utils import ProgressBar

from lavit_mm.apis import full_checkpoint_unpickling
from lavit_mm.apis.export import (OPSET, build_targets, environment_line, export_and_check,
                                  parse_size, parse_target, require_onnx, summary_table)

DEFAULT_SIZES = ['224x224', '200x264']


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('models', nargs='+', help='model specs or config files, '
                        'optionally MODEL@HxW,HxW')
    parser.add_argument('--sizes', nargs='+', default=DEFAULT_SIZES,
                        help='HxW (or N) sizes for models without @ (default: 224x224 '
                        '200x264); the first is the export size')
    parser.add_argument('--checkpoint', help='weights of the (one) model; refused unless its '
                        'keys fit the model exactly')
    parser.add_argument('--safe-load', action='store_true',
                        help='load the checkpoint with torch.load(weights_only=True)')
    parser.add_argument('--backbone-only', action='store_true',
                        help="export a config's model.backbone only")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--perturb', action='store_true',
                        help='add noise to the identity/zero-initialised LA transforms, head '
                        'mix and cross-stage map, so that a check of untrained weights '
                        'covers them')
    parser.add_argument('--out-dir', default='work_dirs/onnx', help='where the .onnx go')
    parser.add_argument('--opset', type=int, default=OPSET,
                        help=f'ONNX opset (default {OPSET}; the fused attention needs >= 14)')
    parser.add_argument('--runs', type=int, default=5,
                        help='timed runs per size and runtime, median (0: no timing)')
    parser.add_argument('--batch', type=int, default=1, help='images per checked input')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted max abs difference (default 1e-4)')
    parser.add_argument('--threads', type=int, help='CPU threads of both runtimes')
    parser.add_argument('--table', help='also write the markdown table to this file')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    require_onnx()  # before any model is built: the install command, at once
    if args.threads:
        torch.set_num_threads(args.threads)
    default_sizes = [parse_size(s) for s in args.sizes]
    specs = [parse_target(m, default_sizes) for m in args.models]
    # the user's own checkpoint (see --safe-load); every model built, its sizes checked first
    with full_checkpoint_unpickling(bool(args.checkpoint) and not args.safe_load):
        targets = build_targets(specs, args.checkpoint, args.backbone_only, args.cfg_options,
                                args.perturb)
    progress = ProgressBar(sum(len(sizes) for _, sizes in targets), file=sys.stdout)
    results = [export_and_check(target, sizes, args.out_dir, args.opset, args.runs, args.batch,
                                on_size=lambda _: progress.update())
               for target, sizes in targets]  # progress over models x sizes
    table = f'{environment_line()}\n\n{summary_table(results, args.atol)}'
    print('\n\n' + table)
    for r in results:
        print(f'written: {r.path}')
    if args.table:
        os.makedirs(os.path.dirname(os.path.abspath(args.table)), exist_ok=True)
        with open(args.table, 'w') as f:
            f.write(table)
    over = [r.name for r in results if r.max_abs_diff > args.atol]
    if over:
        print(f'ONNX and PyTorch differ by more than --atol {args.atol:g} for {over}',
              file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, ImportError, FileNotFoundError, NotImplementedError) as e:
        print(f'export_onnx: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
