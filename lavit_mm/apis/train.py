"""Train a detector, segmentor or classifier from a config (the flags of mmdet's train.py).

    python -m lavit_mm.apis.train CONFIG ...   (tools/train.py is this)
"""
import argparse

from . import build_runner, finish_distributed, full_checkpoint_unpickling, load_config
from .cli import add_common_arguments, export_local_rank


def main(argv=None):
    parser = argparse.ArgumentParser(description='Train a model with a lavit_mm config')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + loss scaling on GPU, bf16 on CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (total batch / the recipe\'s base batch size)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in the work dir')
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)  # this process's rank, for mmengine (launchers before torchrun)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    runner = build_runner(cfg, 'train', amp=args.amp, resume=args.resume,
                          auto_scale_lr=args.auto_scale_lr)
    with full_checkpoint_unpickling(args.resume is not None):  # resuming the user's own run
        runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
