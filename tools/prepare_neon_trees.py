"""Build the aerial tree-crown detection set (COCO json, mmdet's stock CocoDataset) from the
deepforest==2.1.0 wheel: tiles of the YELL training image, OSBS_029 + SOAP_061 for
validation. Idempotent; the wheel is fetched with `pip download --no-deps` when missing.

    python tools/prepare_neon_trees.py                       # data/neon_trees/
    python tools/prepare_neon_trees.py --wheel deepforest-2.1.0-py3-none-any.whl   # offline
"""
import argparse
import json
import sys

from lavit_mm.datasets.neon_trees import prepare_neon_trees


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', default='data/neon_trees')
    parser.add_argument('--wheel', help='path of deepforest-2.1.0-py3-none-any.whl (offline)')
    parser.add_argument('--tile', type=int, default=400, help='training tile side (px)')
    parser.add_argument('--overlap', type=int, default=100, help='tile overlap (px)')
    parser.add_argument('--force', action='store_true', help='rewrite even if present')
    args = parser.parse_args()
    try:
        summary = prepare_neon_trees(args.root, args.wheel, tile=args.tile,
                                     overlap=args.overlap, force=args.force)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(f'tree-crown set ready at {args.root}: {json.dumps(summary)}')


if __name__ == '__main__':
    main()
