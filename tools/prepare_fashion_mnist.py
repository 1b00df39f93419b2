"""Put Fashion-MNIST where the configs read it (data/fashion-mnist/, the four extracted IDX
files mmpretrain's FashionMNIST dataset expects). No root needed; idempotent.

    python tools/prepare_fashion_mnist.py                 # from Debian's dataset-fashion-mnist
    python tools/prepare_fashion_mnist.py --from DIR      # from a folder with the four .gz files
"""
import argparse
import sys

from lavit_mm.datasets.fashion_mnist import DEBIAN_FOLDER, prepare_fashion_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--from', dest='sources', nargs='+', default=[DEBIAN_FOLDER],
                        help=f'folders to take the files from, first match wins '
                             f'(default: {DEBIAN_FOLDER})')
    parser.add_argument('--data-root', default='data/fashion-mnist',
                        help='where to put them (the configs\' data_root)')
    args = parser.parse_args()
    try:
        root = prepare_fashion_mnist(args.data_root, args.sources)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(f'Fashion-MNIST ready at {root}')


if __name__ == '__main__':
    main()
