"""Convert official or mmdet PVT v1 / PVT v2 / Swin weights, and official DeiT or mmpretrain
ViT weights, into lavit_mm's layout.

    python tools/convert_weights.py --from pvt-official pvt_small.pth pvt_s_lavit.pth
    python tools/convert_weights.py --from mmdet-swin retinanet_swin-t.pth swin_t_lavit.pth
    python tools/convert_weights.py --from mmpretrain-vit deit-tiny_in1k.pth deit_t_lavit.pth

The output holds ``state_dict`` (our keys) and ``meta``; load it with
``init_cfg=dict(type='Pretrained', checkpoint='OUT')`` in a PVT, PVTv2, Swin or LaViT backbone
of the same widths, or, for DeiT/ViT weights, a ``LaViTPlain`` (a LaViT keeps its LA-only
parameters at their identity init; the load log lists the keys that were missing or unused).
"""
import argparse
import pickle

import torch

from lavit_mm.models.checkpoint import extract_state_dict, verify_checkpoint_file
from lavit_mm.models.convert import CONVERTERS, convert


def load_foreign(path: str, full_unpickling: bool, layout: str):
    fix = f'expected a torch checkpoint in the {layout!r} layout; re-download it'
    try:
        verify_checkpoint_file(path, fix)
        return torch.load(path, map_location='cpu', weights_only=not full_unpickling)
    except pickle.UnpicklingError as e:
        raise SystemExit(f'{path} holds more than tensors (e.g. an mmengine training '
                         f'checkpoint); if you trust it, re-run with --full-unpickling.\n{e}')
    except (OSError, ValueError, RuntimeError, EOFError) as e:
        raise SystemExit(f'error: cannot read {path}: {e}' if path not in str(e) else
                         f'error: {e}')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--from', dest='layout', required=True, choices=sorted(CONVERTERS))
    parser.add_argument('src', help='checkpoint in the --from layout')
    parser.add_argument('dst', help='output checkpoint in the lavit_mm layout')
    parser.add_argument('--full-unpickling', action='store_true',
                        help='allow non-tensor objects in SRC (only for files you trust)')
    args = parser.parse_args()
    state = extract_state_dict(load_foreign(args.src, args.full_unpickling, args.layout),
                               source=args.src)
    if any(k.startswith('backbone.') for k in state):  # a whole mmdet detector
        state = extract_state_dict(state, 'backbone.', args.src)
    converted = convert(state, args.layout)
    torch.save({'meta': dict(converted_from=args.layout, source=args.src),
                'state_dict': converted}, args.dst)
    print(f'{args.src} ({args.layout}, {len(state)} tensors) -> {args.dst} '
          f'({len(converted)} tensors, {len(state) - len(converted)} dropped)')


if __name__ == '__main__':
    main()
