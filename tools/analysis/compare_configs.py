"""Train configs x seeds and tabulate the final evaluation: mean ± std of every metric the
configs' evaluator reports (top-1, COCO mAP, mIoU), params, FLOPs and wall time, plus a plot
of the learning curves. Killed? Run the same command again: finished runs are read back,
the interrupted one resumes from its last checkpoint. A run folder another process is
training is refused (its lock, running.pid, names the process).

    python tools/analysis/compare_configs.py configs/small_data/lavit_t_fashion_mnist.py \
        configs/small_data/pvt_t_fashion_mnist.py --seeds 0 1 2 \
        --work-dir work_dirs/compare_fmnist --cfg-options train_cfg.max_epochs=5

Writes WORK_DIR/comparison.md, comparison.csv and curves.png; one folder per run
(WORK_DIR/<config name>/seed<S>/).
"""
import argparse
import os.path as osp
import sys

from lavit_mm_lab.compare import compare, plot_curves, to_markdown, write_csv


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides for every run')
    parser.add_argument('--metric', nargs='+', default=[],
                        help='only these metrics (default: all the evaluator reports)')
    parser.add_argument('--work-dir', default='work_dirs/compare_configs')
    parser.add_argument('--no-complexity', action='store_true',
                        help='skip params/FLOPs (they build the model and read one val sample)')
    args = parser.parse_args()
    for config in args.configs:
        if not osp.isfile(config):
            parser.error(f'config {config} does not exist')
    try:
        rows = compare(args.configs, args.seeds, args.work_dir, args.cfg_options, args.metric,
                       with_complexity=not args.no_complexity,
                       log=lambda s: print(s, file=sys.stderr, flush=True))
    except (ValueError, RuntimeError) as e:
        sys.exit(f'error: {e}')
    table = to_markdown(rows)
    with open(osp.join(args.work_dir, 'comparison.md'), 'w') as f:
        f.write(table)
    write_csv(rows, osp.join(args.work_dir, 'comparison.csv'))
    plot_curves(args.work_dir, rows, osp.join(args.work_dir, 'curves.png'),
                args.metric[0] if args.metric else None)
    print(table)
    print(f'written: {args.work_dir}/comparison.md, comparison.csv, curves.png')


if __name__ == '__main__':
    main()
