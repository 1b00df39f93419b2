"""Print the training losses and evaluation metrics mmengine logged in a work dir (or
several); with --plot, draw the loss and the validation metric over iterations, one colour
per run.

    python tools/summarize_run.py work_dirs/run --plot curves.png
    python tools/summarize_run.py RUN_A RUN_B --labels a b --smooth 5 --plot both.png
"""
import argparse
import json

from lavit_mm_lab.compare import evaluations, plot_runs, read_scalars


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--plot', help='write the curves to this image (.png)')
    parser.add_argument('--labels', nargs='+', help='one legend name per work dir')
    parser.add_argument('--smooth', type=int, default=1,
                        help='plot the loss as a trailing mean over this many logged points')
    parser.add_argument('--metric', help='the validation metric to plot (default: the first)')
    args = parser.parse_args()
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'--labels: {len(args.labels)} names for {len(args.work_dirs)} work dirs')
    for work_dir in args.work_dirs:
        records = read_scalars(work_dir)
        train = [r for r in records if 'loss' in r]
        if len(args.work_dirs) > 1:
            print(f'{work_dir}:')
        if train:
            first, last = train[0], train[-1]
            print(f"loss: {first['loss']:.4f} at iter {first.get('iter')} -> "
                  f"{last['loss']:.4f} at iter {last.get('iter')}")
        for metrics in evaluations(records):
            print('evaluation:', json.dumps(metrics))
    if args.plot:
        print('curves:', plot_runs(args.work_dirs, args.plot, args.labels, args.metric,
                                   args.smooth))


if __name__ == '__main__':
    main()
