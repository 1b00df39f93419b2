"""Run a trained model on your own images: detection, segmentation or classification (the
config says which), through the toolbox's own Inferencer; the drawn predictions go to
--out-dir.

    python tools/image_demo.py IMAGE_OR_FOLDER CONFIG CHECKPOINT --out-dir OUT
"""
import argparse

from lavit_mm.apis import full_checkpoint_unpickling, infer_images


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', nargs='+', help='image files or folders of images')
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='the checkpoint (.pth)')
    parser.add_argument('--out-dir', default='outputs', help='where the drawn images go')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda:0'")
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: draw boxes scoring at least this')
    args = parser.parse_args()
    with full_checkpoint_unpickling():  # the user's own checkpoint, with its training state
        preds = infer_images(args.config, args.checkpoint, args.inputs, args.out_dir,
                             args.device, args.score_thr)
    print(f'{len(preds)} image(s) -> {args.out_dir}')


if __name__ == '__main__':
    main()
