"""Attention analysis of backbones: DeepViT cross-layer and cross-head similarity (PNG heatmaps
and curves + CSV) and attention overlays for chosen queries. Several models go side by side.

    # random init, LaViT-S vs PVT-S, on 4 images of the embedded set
    python tools/analyze_attention.py --model lavit_s pvt_s --out-dir work_dirs/attn_init
    # trained checkpoints (config@checkpoint), own images, chosen query points (y,x in [0,1])
    python tools/analyze_attention.py \\
        --model configs/demo/lavit_s_synthetic_cls.py@work_dirs/cls_lavit_s/epoch_15.pth \\
                configs/demo/pvt_s_synthetic_cls.py@work_dirs/cls_pvt_s/epoch_15.pth \\
        --labels LaViT-S PVT-S --images data/synthetic_imagenet/val --points 0.5,0.5 0.2,0.7

Models: a preset of tools/benchmark.py (random init, seeded), or a config whose
model.backbone is one of ours, optionally with @CHECKPOINT (a training checkpoint, keys
``backbone.*``, or a published/converted backbone checkpoint).
"""
import argparse
import csv
import os
import os.path as osp
import sys

import numpy as np
import torch

from lavit_mm_lab.attention import collect_attention, dp_diagnosis, similarity_rows
from lavit_mm_lab.attention_plots import (plot_cross_layer_heatmaps, plot_head_similarity,
                                          plot_overlays, plot_similarity_curves)
from lavit_mm.models.model_spec import (PRESETS, build_backbone, config_backbone,
                                        parse_model_spec)
from lavit_mm.apis import full_checkpoint_unpickling
from lavit_mm.models.checkpoint import load_pretrained

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


def load_model(spec: str, seed: int):
    """-> (backbone, mean, std) from a preset or config[@checkpoint]."""
    spec, _, checkpoint = spec.partition('@')
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    if spec.endswith('.py'):
        try:
            cfg, backbone_cfg = config_backbone(spec)
        except (FileNotFoundError, ValueError) as e:
            raise SystemExit(str(e))
        pre = cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
        mean, std = tuple(pre.get('mean', mean)), tuple(pre.get('std', std))
    else:
        _, backbone_cfg = parse_model_spec(spec)
    if backbone_cfg['type'].startswith('mmdet.'):
        raise SystemExit(f'{spec}: mmdet backbones expose no attention maps; analyse ours '
                         f'(LaViT, PVT, Swin) - they equal mmdet\'s given the same weights')
    backbone_cfg.pop('init_cfg', None)  # weights come from @CHECKPOINT, or random
    torch.manual_seed(seed)
    backbone = build_backbone(backbone_cfg)
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise SystemExit(f'checkpoint {checkpoint} does not exist')
        # a detector/classifier checkpoint, or a backbone-only one
        report = load_pretrained(backbone, checkpoint, prefix=('backbone.', None))
        if report.missing:
            print(f'warning: {checkpoint}: {len(report.missing)} backbone weights missing, '
                  f'e.g. {report.missing[:3]}', file=sys.stderr)
    return backbone.eval(), mean, std


def list_images(paths, limit):
    files = []
    for path in paths:
        if osp.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                files += [osp.join(root, n) for n in sorted(names)
                          if n.lower().endswith(IMAGE_EXTS)]
        elif osp.isfile(path):
            files.append(path)
        else:
            raise SystemExit(f'--images: {path} does not exist')
    if not files:
        raise SystemExit(f'--images: no image ({", ".join(IMAGE_EXTS)}) under {paths}')
    step = max(len(files) // limit, 1)  # spread over classes/folders
    return files[::step][:limit]


def read_images(files, size):
    import mmcv
    images = []
    for f in files:
        img = mmcv.imread(f, channel_order='rgb')
        images.append(mmcv.imresize(img, (size[1], size[0])))
    return np.stack(images)  # (B, H, W, 3) uint8 RGB


def default_images(count, size):
    """Images of the embedded ImageNet-layout set (written if missing)."""
    from lavit_mm.datasets.synthetic_imagenet import make_synthetic_imagenet
    root = make_synthetic_imagenet('data/synthetic_imagenet')
    return read_images(list_images([osp.join(root, 'val')], count), size)


def to_tensor(images, mean, std):
    """(B, H, W, 3) uint8 RGB -> normalised (B, C, H, W), C = len(mean): 1 for greyscale
    models (Fashion-MNIST configs), whose images are read as RGB and averaged back."""
    x = torch.from_numpy(images).float().permute(0, 3, 1, 2)  # (B, 3, H, W)
    if len(mean) == 1:
        x = x.mean(1, keepdim=True)  # (B, 1, H, W)
    c = x.shape[1]
    return (x - torch.tensor(mean).view(1, c, 1, 1)) / torch.tensor(std).view(1, c, 1, 1)


def parse_point(text):
    try:
        y, x = (float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'query point {text!r}: use y,x in [0, 1]')
    if not (0 <= y <= 1 and 0 <= x <= 1):
        raise argparse.ArgumentTypeError(f'query point {text!r}: y and x must be in [0, 1]')
    return y, x


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', nargs='+', required=True,
                        help=f'preset ({", ".join(PRESETS)}) or config.py[@checkpoint]')
    parser.add_argument('--labels', nargs='+', help='a name per model (default: the spec)')
    parser.add_argument('--images', nargs='+', help='image files or folders (default: the '
                        'embedded ImageNet-layout set)')
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--size', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--points', type=parse_point, nargs='+',
                        default=[(0.5, 0.5), (0.25, 0.75)], help='query points y,x in [0, 1]')
    parser.add_argument('--max-queries', type=int, default=1024,
                        help='queries sampled per layer (evenly spread)')
    parser.add_argument('--seed', type=int, default=0, help='seed of random-init models')
    parser.add_argument('--safe-load', action='store_true',
                        help='load checkpoints with torch\'s weights_only loader')
    parser.add_argument('--dp', action='store_true',
                        help='also print, per LA layer, the DP loss of the attention it '
                             'inherits and of its transform of it')
    parser.add_argument('--out-dir', default='work_dirs/attention')
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.model):
        parser.error(f'--labels: {len(args.labels)} names for {len(args.model)} models')
    images = (read_images(list_images(args.images, args.num_images), args.size)
              if args.images else default_images(args.num_images, args.size))
    analysed, rows, dp_rows = {}, [], {}
    for i, spec in enumerate(args.model):
        name = args.labels[i] if args.labels else osp.basename(spec.partition('@')[0])
        with full_checkpoint_unpickling(not args.safe_load):  # the user's own checkpoints
            backbone, mean, std = load_model(spec, args.seed)
        x = to_tensor(images, mean, std)
        stages = collect_attention(backbone, x, args.max_queries)
        analysed[name] = stages
        rows += similarity_rows(name, stages)
        if args.dp:
            dp_rows[name] = dp_diagnosis(backbone, x)
    os.makedirs(args.out_dir, exist_ok=True)
    out = {k: osp.join(args.out_dir, f) for k, f in dict(
        csv='attention_similarity.csv', heatmaps='cross_layer_similarity.png',
        curves='adjacent_layer_similarity.png', heads='cross_head_similarity.png',
        overlays='attention_overlays.png').items()}
    with open(out['csv'], 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot_cross_layer_heatmaps(analysed, out['heatmaps'])
    plot_similarity_curves(analysed, out['curves'])
    plot_head_similarity(analysed, out['heads'])
    plot_overlays(images[0], analysed, args.points, out['overlays'])
    print('| model | stage | adjacent-layer similarity (l-1, l), l = 2.. | '
          'mean cross-head similarity | attention entropy / uniform, per layer |')
    print('|---|---|---|---|---|')
    for name in analysed:
        for stage in sorted({r['stage'] for r in rows if r['model'] == name}):
            mine = [r for r in rows if r['model'] == name and r['stage'] == stage]
            adj = [f"{r['value']:.2f}{'*' if r['other_kind'] == 'LA' else ''}" for r in mine
                   if r['measure'] == 'cross_layer' and r['other_layer'] == r['layer'] + 1]
            heads = [r['value'] for r in mine
                     if r['measure'] == 'cross_head_mean' and r['value'] == r['value']]
            entropy = [f"{r['value']:.2f}" if r['value'] == r['value'] else 'n/a'  # NaN: not p
                       for r in mine if r['measure'] == 'entropy_ratio']
            mean_heads = f'{np.mean(heads):.2f}' if heads else '- (1 head)'
            print(f"| {name} | {stage} | {' '.join(adj) or '-'} | {mean_heads} | "
                  f"{' '.join(entropy)} |")
    print('(* = the later layer is LA)')
    if args.dp:
        print('\n| model | stage | LA layer | DP loss of the inherited attention | '
              'DP loss of its LA transform |')
        print('|---|---|---|---|---|')
        for name, dps in dp_rows.items():
            for r in dps:
                print(f"| {name} | {r['stage']} | {r['layer']} | {r['inherited']:.3f} | "
                      f"{r['transformed']:.3f} |")
    print('written: ' + ', '.join(out.values()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
