"""Train one config with several DP-loss weights and tabulate the outcome.

    python tools/analysis/dp_weight_experiment.py configs/demo/lavit_t_synthetic_cls.py \
        --weights 0 0.1 1 10 --seeds 0 1

Each run is tools/train.py with ``model.backbone.less_attention.dp_loss.weight=W`` and
``randomness.seed=S``
in its own work dir; the table shows the task loss (total minus loss_dp) and the unweighted DP
loss at the last logged step, and every evaluation metric of the final evaluation.
"""
import argparse
import os.path as osp
import sys

from lavit_mm_lab.compare import evaluations, train_and_read


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--weights', type=float, nargs='+', default=[0., 0.1, 1., 10.])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides for every run (e.g. another data_root)')
    parser.add_argument('--work-dir', default='work_dirs/dp_weight_experiment')
    args = parser.parse_args()
    rows = []
    for weight in args.weights:
        for seed in args.seeds:
            work_dir = osp.join(args.work_dir, f'w{weight:g}_s{seed}')
            records = train_and_read(args.config, work_dir, [
                *args.cfg_options, f'model.backbone.less_attention.dp_loss.weight={weight}',
                f'randomness.seed={seed}'])
            last = [r for r in records if 'loss' in r][-1]
            dp = last.get('loss_dp', 0.)
            rows.append((weight, seed, last['loss'] - dp, dp / weight if weight else None,
                         evaluations(records)[-1]))
            print(f'done: weight {weight:g}, seed {seed}', file=sys.stderr, flush=True)
    keys = sorted(rows[0][4])
    print('| dp weight | seed | task loss (last step) | DP loss, unweighted | '
          + ' | '.join(keys) + ' |')
    print('|' + '---|' * (4 + len(keys)))
    for weight, seed, task, dp, metrics in rows:
        dp_text = f'{dp:.4f}' if dp is not None else 'off'
        print(f'| {weight:g} | {seed} | {task:.4f} | {dp_text} | '
              + ' | '.join(f'{metrics[k]:.2f}' for k in keys) + ' |')


if __name__ == '__main__':
    main()
