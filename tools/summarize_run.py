"""Print the training losses and evaluation metrics mmengine logged in a work dir."""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys


def read_scalars(work_dir: str):
    """The records of the newest run's vis_data/scalars.json in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did it train?')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


_NOT_METRICS = ('data_time', 'time', 'step', 'epoch', 'iter')


def evaluations(records):
    """The metric dicts of the evaluation records (no training loss, no learning rate)."""
    return [{k: v for k, v in r.items() if k not in _NOT_METRICS} for r in records
            if 'loss' not in r and not any(k.endswith('lr') for k in r)]


def train_and_read(config: str, work_dir: str, options=()):
    """Runs tools/train.py on ``config`` (with ``--cfg-options options``) in ``work_dir``, in
    a subprocess, and returns its logged records."""
    train = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')
    command = [sys.executable, train, config, '--work-dir', work_dir]
    command += ['--cfg-options', *options] if options else []
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return read_scalars(work_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir')
    args = parser.parse_args()
    records = read_scalars(args.work_dir)
    train = [r for r in records if 'loss' in r]
    if train:
        first, last = train[0], train[-1]
        print(f"loss: {first['loss']:.4f} at iter {first.get('iter')} -> "
              f"{last['loss']:.4f} at iter {last.get('iter')}")
    for metrics in evaluations(records):
        print('evaluation:', json.dumps(metrics))


if __name__ == '__main__':
    main()
