"""A small classification set in ImageNet layout, generated on the spot.

    <root>/train/<class>/<class>_%05d.JPEG     (one folder per class, as ImageNet's train)
    <root>/val/val_%05d.JPEG + <root>/meta/val.txt ("file label" lines, as ImageNet's val)

mmpretrain's stock ``ImageNet`` dataset reads it with ``split='train'``/``'val'`` and the
``metainfo`` below (class names are the folder names, sorted). One shape per image.
"""
import math
import os
import os.path as osp
from typing import Sequence, Tuple

import numpy as np
from PIL import ImageDraw

from .shapes import CLASSES, background, shape_color, shape_polygon
from .write_once import write_once

CLS_CLASSES = tuple(sorted(CLASSES))


def metainfo():
    return dict(classes=CLS_CLASSES)


def _draw(rng: np.random.Generator, kind: str, size: Tuple[int, int]):
    h, w = size
    img = background(rng, h, w)
    side = float(rng.uniform(0.35, 0.8) * min(h, w))
    cx = rng.uniform(side / 2, w - side / 2)
    cy = rng.uniform(side / 2, h - side / 2)
    pts = shape_polygon(kind, cx, cy, side, float(rng.uniform(0, 2 * math.pi)))
    ImageDraw.Draw(img).polygon(pts, fill=shape_color(rng, kind))
    return img


def make_synthetic_imagenet(root: str, num_train_per_class: int = 40,
                            num_val_per_class: int = 10, image_size: Sequence[int] = (64, 64),
                            seed: int = 0, force: bool = False) -> str:
    """Writes the set unless it is already there (then does nothing). Returns ``root``."""
    key = f'{num_train_per_class} {num_val_per_class} {tuple(image_size)} {seed}'
    return write_once(root, key, lambda: _write(root, num_train_per_class, num_val_per_class,
                                                tuple(image_size), seed), force)


def _write(root, num_train_per_class, num_val_per_class, image_size, seed):
    rng = np.random.default_rng(seed)
    for label, kind in enumerate(CLS_CLASSES):
        folder = osp.join(root, 'train', kind)
        os.makedirs(folder, exist_ok=True)
        for i in range(num_train_per_class):
            _draw(rng, kind, tuple(image_size)).save(
                osp.join(folder, f'{kind}_{i:05d}.JPEG'), format='JPEG', quality=95)
    os.makedirs(osp.join(root, 'val'), exist_ok=True)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    lines = []
    val_rng = np.random.default_rng(seed + 1)
    order = val_rng.permutation(len(CLS_CLASSES) * num_val_per_class)
    for n, idx in enumerate(order):
        label = int(idx) // num_val_per_class
        name = f'val_{n:05d}.JPEG'
        _draw(val_rng, CLS_CLASSES[label], tuple(image_size)).save(
            osp.join(root, 'val', name), format='JPEG', quality=95)
        lines.append(f'{name} {label}')
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
