"""Write the embedded synthetic detection set in COCO layout (skipped if already there)."""
import argparse

from lavit_mm.datasets import make_synthetic_coco


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--root', default='data/synthetic_coco', help='output folder')
    parser.add_argument('--num-train', type=int, default=96)
    parser.add_argument('--num-val', type=int, default=24)
    parser.add_argument('--size', type=int, nargs=2, default=(256, 256), metavar=('H', 'W'))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='rewrite even if present')
    args = parser.parse_args()
    root = make_synthetic_coco(args.root, args.num_train, args.num_val, args.size, args.seed,
                               args.force)
    print(f'synthetic COCO set ready at {root}')


if __name__ == '__main__':
    main()
