"""Print the training losses and evaluation metrics mmengine logged in a work dir; with
--plot, draw the loss and the validation metric over iterations."""
import argparse
import json

from lavit_mm.analysis.compare import evaluations, plot_run, read_scalars


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir')
    parser.add_argument('--plot', help='write the curves to this image (.png)')
    parser.add_argument('--metric', help='the validation metric to plot (default: the first)')
    args = parser.parse_args()
    records = read_scalars(args.work_dir)
    train = [r for r in records if 'loss' in r]
    if train:
        first, last = train[0], train[-1]
        print(f"loss: {first['loss']:.4f} at iter {first.get('iter')} -> "
              f"{last['loss']:.4f} at iter {last.get('iter')}")
    for metrics in evaluations(records):
        print('evaluation:', json.dumps(metrics))
    if args.plot:
        print('curves:', plot_run(args.work_dir, args.plot, args.metric))


if __name__ == '__main__':
    main()
