"""Train several configs over several seeds and tabulate the final evaluation: a quality
check for model variants (e.g. LaViT-S vs its la_key_stride / lite variants vs PVT-S).

    python tools/make_synthetic_data.py --task cls --root data/synthetic_imagenet_val50 \
        --num-val 50
    python tools/analysis/compare_configs.py configs/demo/pvt_s_synthetic_cls.py \
        configs/demo/lavit_s_synthetic_cls.py configs/demo/lavit_s_lite_synthetic_cls.py \
        --seeds 0 1 --cfg-options train_dataloader.dataset.data_root=data/synthetic_imagenet_val50 \
        val_dataloader.dataset.data_root=data/synthetic_imagenet_val50 \
        test_dataloader.dataset.data_root=data/synthetic_imagenet_val50

Each run is tools/train.py CONFIG --cfg-options OPTIONS randomness.seed=S in its own work
dir; the table lists every metric of each run's last evaluation and the mean over seeds.
"""
import argparse
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from summarize_run import evaluations, train_and_read  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value overrides for every run')
    parser.add_argument('--work-dir', default='work_dirs/compare_configs')
    args = parser.parse_args()
    for config in args.configs:
        if not osp.isfile(config):
            parser.error(f'config {config} does not exist')
    results = {}
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        for seed in args.seeds:
            work_dir = osp.join(args.work_dir, f'{name}_s{seed}')
            records = train_and_read(config, work_dir,
                                     [*args.cfg_options, f'randomness.seed={seed}'])
            results.setdefault(name, []).append(evaluations(records)[-1])
            print(f'done: {name}, seed {seed}', file=sys.stderr, flush=True)
    keys = sorted(next(iter(results.values()))[0])
    print('| config | ' + ' | '.join(f'{k} per seed' for k in keys) + ' | ' +
          ' | '.join(f'{k} mean' for k in keys) + ' |')
    print('|' + '---|' * (1 + 2 * len(keys)))
    for name, runs in results.items():
        per_seed = [' / '.join(f'{r[k]:.2f}' for r in runs) for k in keys]
        means = [f'{statistics.mean(r[k] for r in runs):.2f}' for k in keys]
        print(f'| {name} | ' + ' | '.join(per_seed + means) + ' |')


if __name__ == '__main__':
    main()
