"""Write the embedded synthetic datasets (skipped where already there):

    data/synthetic_coco/           detection, COCO 2017 layout       (--task det)
    data/synthetic_ade/            segmentation, ADE20K layout        (--task seg)
    data/synthetic_imagenet/       classification, ImageNet layout    (--task cls)
"""
import argparse

from lavit_mm.datasets import make_synthetic_ade, make_synthetic_coco, make_synthetic_imagenet

MAKERS = {
    'det': ('data/synthetic_coco', make_synthetic_coco),
    'seg': ('data/synthetic_ade', make_synthetic_ade),
    'cls': ('data/synthetic_imagenet', make_synthetic_imagenet),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--task', choices=sorted(MAKERS), nargs='+', default=sorted(MAKERS))
    parser.add_argument('--root', help='output folder (one task only)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-val', type=int,
                        help='validation images (cls: per class); default: the demo sets\'')
    parser.add_argument('--force', action='store_true', help='rewrite even if present')
    args = parser.parse_args()
    if args.root and len(args.task) > 1:
        parser.error('--root needs a single --task')
    for task in args.task:
        default_root, make = MAKERS[task]
        extra = {}
        if args.num_val is not None:
            extra['num_val_per_class' if task == 'cls' else 'num_val'] = args.num_val
        root = make(args.root or default_root, seed=args.seed, force=args.force, **extra)
        print(f'{task}: synthetic set ready at {root}')


if __name__ == '__main__':
    main()
