"""The command-line arguments tools/train.py and tools/test.py share (mmdet's flags)."""
import argparse
import os

from mmengine.config import DictAction


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='the dir to save logs, checkpoints and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """``LOCAL_RANK`` from ``--local-rank`` unless the launcher set it: for a tool's process
    entry point only (mmengine's distributed set-up reads it)."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
