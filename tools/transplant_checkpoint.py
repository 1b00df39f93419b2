"""Load a whole trained model into another config's model of the same widths, and save it.

    python tools/transplant_checkpoint.py configs/small_data/lavit_pvtv2_b1_fashion_mnist.py \
        work_dirs/pvtv2_b1/epoch_5.pth lavit_from_pvtv2.pth

E.g. a trained PVTv2 classifier into the LaViT classifier of its widths: VA layers and the head
as they are, each LA layer the value projection of its VA layer (its q/k left unused), and what
the file lacks (Theta/Psi, cross-stage maps) at its fresh initialisation. The load report is
printed. The output is a checkpoint for ``tools/test.py CONFIG OUT`` (the score with no
training) or ``--cfg-options load_from=OUT`` (fine-tuning).
"""
import argparse

from lavit_mm.apis import full_checkpoint_unpickling
from lavit_mm.apis.publish import transplant_checkpoint
from lavit_mm.engine.config import load_config


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='the config of the model to load into')
    parser.add_argument('src', help='a trained checkpoint (one you trust)')
    parser.add_argument('dst', help='the output checkpoint')
    parser.add_argument('--seed', type=int, default=0, help='seed of the fresh initialisation')
    parser.add_argument('--safe-load', action='store_true',
                        help="load SRC with torch's weights_only loader (a published file)")
    args = parser.parse_args()
    with full_checkpoint_unpickling(not args.safe_load):  # the user's own training checkpoint
        report = transplant_checkpoint(load_config(args.config), args.src, args.dst, args.seed)
    print(f'{args.src} -> {args.dst}: {report}')


if __name__ == '__main__':
    main()
