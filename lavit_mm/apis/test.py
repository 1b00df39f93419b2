"""Evaluate a checkpoint: COCO AP (detection), mIoU (segmentation) or top-1 (classification),
with the evaluator the config names.

    python -m lavit_mm.apis.test CONFIG ...   (tools/test.py is this)
"""
import argparse
import pickle

import torch

from . import (build_runner, dump_predictions, enable_prediction_drawing, enable_tta,
               finish_distributed, full_checkpoint_unpickling, load_config)
from .cli import add_common_arguments, export_local_rank


def main(argv=None):
    parser = argparse.ArgumentParser(description='Test a checkpoint with a lavit_mm config')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help="checkpoint file; without it, the model as its init_cfg loads it "
                        "(e.g. a release converted on load; refused if no init_cfg loads any)")
    parser.add_argument('--safe-load', action='store_true',
                        help='load the checkpoint with torch.load(weights_only=True): for '
                        'checkpoints you do not trust; they must hold only meta + state_dict')
    parser.add_argument('--show-dir', help='write each test image with its predictions (and '
                        "ground truth) to this folder, drawn by the toolbox's visualization "
                        'hook')
    parser.add_argument('--show', action='store_true', help='show the drawn predictions')
    parser.add_argument('--wait-time', type=float, default=2., help='seconds per shown image')
    parser.add_argument('--interval', type=int, default=1,
                        help='draw every n-th test batch (segmentation) or image (classification)')
    parser.add_argument('--out', help='also write the raw predictions to this .pkl file')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation, the toolbox's (flips by default)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)  # this process's rank, for mmengine (launchers before torchrun)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.show or args.show_dir:
        enable_prediction_drawing(cfg, args.show_dir, args.show, args.wait_time, args.interval)
    if args.out:
        dump_predictions(cfg, args.out)
    if args.tta:
        enable_tta(cfg)
    if args.safe_load and args.checkpoint is None:
        raise SystemExit('--safe-load applies to the checkpoint argument, and none is given: '
                         'remove it, or give the checkpoint')
    if args.safe_load:
        try:
            torch.load(args.checkpoint, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError:
            raise SystemExit(f'--safe-load: {args.checkpoint} holds training state beyond '
                             f'weights. Publish it first (python tools/publish_checkpoint.py '
                             f'{args.checkpoint} OUT) and test OUT, or drop --safe-load if '
                             f'you trust it.')
    runner = build_runner(cfg, 'test', checkpoint=args.checkpoint)
    with full_checkpoint_unpickling(not args.safe_load):  # the user's own checkpoint
        runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
