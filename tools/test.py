"""Evaluate a checkpoint: COCO AP (detection), mIoU (segmentation) or top-1 (classification),
with the evaluator the config names."""
import argparse
import os

from mmengine.config import DictAction

from lavit_mm.apis import (allow_full_checkpoint_unpickling, build_runner, finish_distributed,
                           load_config)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint with a lavit_mm config')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation logs')
    parser.add_argument('--safe-load', action='store_true',
                        help='load the checkpoint with torch.load(weights_only=True): for '
                        'checkpoints you do not trust; they must hold only meta + state_dict')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if not args.safe_load:
        allow_full_checkpoint_unpickling()  # the user's own checkpoint (see --safe-load)
    runner = build_runner(cfg, 'test', checkpoint=args.checkpoint)
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
