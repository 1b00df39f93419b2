"""Put Fashion-MNIST where the configs read it (data/fashion-mnist/, the four extracted IDX
files mmpretrain's FashionMNIST dataset expects). No root needed; idempotent.

    python tools/prepare_fashion_mnist.py                 # from Debian's dataset-fashion-mnist
    python tools/prepare_fashion_mnist.py --from DIR      # from a folder with the four .gz files
    python tools/prepare_fashion_mnist.py --export-test-images 16 data/fmnist_images
        # + the first 16 test images as PNGs (tools/analyze_attention.py --images)
"""
import argparse
import sys

from lavit_mm.datasets.fashion_mnist import (DEBIAN_FOLDER, export_test_images,
                                             prepare_fashion_mnist)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--from', dest='sources', nargs='+', default=[DEBIAN_FOLDER],
                        help=f'folders to take the files from, first match wins '
                             f'(default: {DEBIAN_FOLDER})')
    parser.add_argument('--data-root', default='data/fashion-mnist',
                        help='where to put them (the configs\' data_root)')
    parser.add_argument('--export-test-images', nargs=2, metavar=('N', 'DIR'),
                        help='also write the first N test images as PNGs to DIR')
    args = parser.parse_args()
    try:
        root = prepare_fashion_mnist(args.data_root, args.sources)
        if args.export_test_images:
            count, out_dir = args.export_test_images
            paths = export_test_images(root, out_dir, int(count))
            print(f'{len(paths)} test images written to {out_dir}')
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(f'Fashion-MNIST ready at {root}')


if __name__ == '__main__':
    main()
