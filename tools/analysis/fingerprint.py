"""Bit-for-bit check of a refactor: outputs, losses, gradients and state of every backbone
configuration after one seeded training step (``lavit_mm_lab/fingerprint.py``).

    python tools/analysis/fingerprint.py --out before.pt       # on the commit before
    python tools/analysis/fingerprint.py --compare before.pt   # on the change
"""
import argparse
import sys

import torch

from lavit_mm_lab.fingerprint import CONFIGS, compare, fingerprint


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', help='save the fingerprint to this file')
    parser.add_argument('--compare', help='compare with a saved fingerprint')
    parser.add_argument('--configs', nargs='+', choices=sorted(CONFIGS),
                        help='only these configurations (default: all)')
    args = parser.parse_args()
    if not (args.out or args.compare):
        parser.error('give --out, --compare or both')
    torch.set_num_threads(1)  # one thread: the same kernels, the same bits, run to run
    now = fingerprint(args.configs)
    if args.out:
        torch.save(now, args.out)
        print(f'{len(now)} configurations -> {args.out}')
    if args.compare:
        before = torch.load(args.compare)
        if args.configs:
            before = {k: v for k, v in before.items() if k in args.configs}
        problems = compare(before, now)
        print('\n'.join(problems) if problems else
              f'bitwise equal: {len(now)} configurations (outputs, losses, gradients, state)')
        sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()
