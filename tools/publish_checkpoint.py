"""Publish a training checkpoint: keep meta + state_dict, so it loads with torch's safe
(weights_only) loader, e.g. as init_cfg=dict(type='Pretrained', checkpoint=OUT, prefix=...).

    python tools/publish_checkpoint.py work_dirs/lavit_s_in1k/epoch_300.pth lavit_s_in1k.pth
"""
import argparse
import os

from lavit_mm.apis.publish import publish_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='a checkpoint written by training (one you trust)')
    parser.add_argument('dst', help='the published checkpoint')
    args = parser.parse_args()
    published = publish_checkpoint(args.src, args.dst)
    print(f'{args.src} -> {args.dst}: {len(published["state_dict"])} tensors, '
          f'{os.path.getsize(args.dst) / 2**20:.1f} MiB')


if __name__ == '__main__':
    main()
