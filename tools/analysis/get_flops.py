"""Params and FLOPs (mmengine analysis) of backbones, classification form and dense form.

    python tools/analysis/get_flops.py          # LaViT-T/S/B, PVTv2-b0..b3, PVT-T/S/M, ...
    python tools/analysis/get_flops.py --models LaViT:tiny LaViT:tiny:window \
        --dense-shape 800 1333
    python tools/analysis/get_flops.py --models PVT:small LaViT:small --as-mmdet
        # + the count of mmdet's get_flops, which skips the attention products
"""
import argparse

from lavit_mm_lab import ClassificationForm, count_flops, count_params
from lavit_mm.registry import MODELS

DEFAULT = ['LaViT:tiny', 'LaViT:small', 'LaViT:base', 'PVTv2:b0', 'PVTv2:b1', 'PVTv2:b2',
           'PVTv2:b3', 'PVT:tiny', 'PVT:small', 'PVT:medium', 'LaViT:pvt1-tiny',
           'LaViT:pvt1-small', 'LaViT:pvt1-base', 'Swin:tiny', 'LaViT:tiny:window']


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--models', nargs='+', default=DEFAULT,
                        help='Type:arch[:attention] entries, e.g. LaViT:small:window')
    parser.add_argument('--cls-shape', type=int, nargs=2, default=(224, 224))
    parser.add_argument('--dense-shape', type=int, nargs=2, default=(800, 1333))
    parser.add_argument('--as-mmdet', action='store_true',
                        help="also the classifier's GFLOPs as mmdet's get_flops counts them "
                             "(mmengine's get_model_complexity_info: no attention products)")
    args = parser.parse_args()
    ch, cw = args.cls_shape
    dh, dw = args.dense_shape
    mmdet_col = f' GFLOPs cls {ch}x{cw}, mmdet\'s count |' if args.as_mmdet else ''
    print(f'| model | params (cls, 1000 classes) | GFLOPs cls {ch}x{cw} |{mmdet_col} '
          f'backbone params | backbone GFLOPs {dh}x{dw} |')
    print('|---|---|---|---|---|' + ('---|' if args.as_mmdet else ''))
    for entry in args.models:
        kind, arch, *attention = entry.split(':')
        cfg = dict(type=f'lavit_mm.{kind}', arch=arch)
        if attention:
            cfg['attention'] = attention[0]
        backbone = MODELS.build(cfg)
        cls = ClassificationForm(backbone)
        name = f'{kind}-{arch}' + (f' ({attention[0]})' if attention else '')
        row = [name, f'{count_params(cls) / 1e6:.2f}M',
               f'{count_flops(cls, (ch, cw)) / 1e9:.2f}']
        if args.as_mmdet:
            row.append(f'{count_flops(cls, (ch, cw), attention_products=False) / 1e9:.2f}')
        row += [f'{count_params(backbone) / 1e6:.2f}M',
                f'{count_flops(backbone, (dh, dw)) / 1e9:.1f}']
        print('| ' + ' | '.join(row) + ' |', flush=True)


if __name__ == '__main__':
    main()
