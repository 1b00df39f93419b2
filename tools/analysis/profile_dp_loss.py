"""Where the DP loss's time goes, per LA layer grid: its recomputed transform of the
detached attention, its forward on the sampled maps, its backward (one thread, one image).

    python tools/analysis/profile_dp_loss.py lavit_s --shape 800x1333

The backbone runs one forward without gradients to collect each LA layer's inputs; then each
layer's DP loss is timed alone, as the training step computes it (the seeds differ from a
training step's, the work does not).
"""
import argparse

import torch

from lavit_mm.grid import parse_shape
from lavit_mm.models.model_spec import build_backbone, parse_model_spec
from lavit_mm_lab.dp_profile import dp_loss_parts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('model', help='a model spec, as tools/benchmark.py takes')
    parser.add_argument('--shape', default='800x1333')
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    backbone = build_backbone(parse_model_spec(args.model)[1])
    backbone.init_weights()
    backbone.train()
    x = torch.randn(1, 3, *parse_shape(args.shape))
    dp_loss_parts(backbone, x)  # warm-up
    parts = dp_loss_parts(backbone, x)
    print('| LA grid | layers | transform (s) | loss forward (s) | loss backward (s) |\n'
          '|---|---|---|---|---|')
    for grid, (n, transform, forward, backward) in parts.items():
        print(f'| {grid} | {n} | {transform:.3f} | {forward:.3f} | {backward:.3f} |')
    total = [sum(p[i] for p in parts.values()) for i in (1, 2, 3)]
    print(f'| all | {sum(p[0] for p in parts.values())} | {total[0]:.3f} | {total[1]:.3f} | '
          f'{total[2]:.3f} |')


if __name__ == '__main__':
    main()
