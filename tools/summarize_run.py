"""Print the training losses and evaluation metrics mmengine logged in a work dir."""
import argparse
import glob
import json
import os.path as osp


def read_scalars(work_dir: str):
    """The records of the newest run's vis_data/scalars.json in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did it train?')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir')
    args = parser.parse_args()
    records = read_scalars(args.work_dir)
    train = [r for r in records if 'loss' in r]
    metrics = [r for r in records if 'loss' not in r and any('/' in k for k in r)]
    if train:
        first, last = train[0], train[-1]
        print(f"loss: {first['loss']:.4f} at iter {first.get('iter')} -> "
              f"{last['loss']:.4f} at iter {last.get('iter')}")
    for r in metrics:  # one record per evaluation
        print('evaluation:', json.dumps({k: v for k, v in r.items() if '/' in k}))


if __name__ == '__main__':
    main()
