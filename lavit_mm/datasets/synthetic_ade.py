"""A small semantic segmentation set in exact ADE20K layout, generated on the spot.

    <root>/images/{training,validation}/ADE_{train,val}_%08d.jpg
    <root>/annotations/{training,validation}/ADE_{train,val}_%08d.png   (uint8 labels)

The labels are in ADE20K's own label space: each kind is stored under the id of a real ADE20K
class (ground as 'earth', circle 'ball', square 'box', triangle 'tent', star 'flower'), and 0
is "other" (here: a 2-px outline around each shape, where the class is ambiguous). So mmseg's
stock ``ADE20KDataset`` reads it as is (150 classes), or with ``metainfo=metainfo()`` as a
5-class subset: ``reduce_zero_label`` maps 0 to the ignore index 255 and id k to k-1, then
mmseg's label map takes the 5 classes to 0..4 and any other id to 255.
"""
import math
import os
import os.path as osp
from typing import Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .shapes import CLASSES, PALETTE, background, shape_color, shape_polygon
from .write_once import write_once

# (ADE20K class, its id in ADE20K's PNGs) for ground and each shape kind of CLASSES
ADE_IDS = (('earth', 14), ('ball', 120), ('box', 42), ('tent', 115), ('flower', 67))
SEG_CLASSES = tuple(name for name, _ in ADE_IDS)
OUTLINE = 2


def metainfo():
    return dict(classes=SEG_CLASSES, palette=[(120, 120, 120)] + PALETTE)


def _draw(rng: np.random.Generator, size: Tuple[int, int], max_objects: int):
    h, w = size
    img = background(rng, h, w)
    label = Image.new('L', (w, h), ADE_IDS[0][1])  # ground
    draw, draw_label = ImageDraw.Draw(img), ImageDraw.Draw(label)
    for _ in range(int(rng.integers(1, max_objects + 1))):
        k = int(rng.integers(len(CLASSES)))
        side = float(rng.uniform(0.15, 0.5) * min(h, w))
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        pts = shape_polygon(CLASSES[k], cx, cy, side, float(rng.uniform(0, 2 * math.pi)))
        draw.polygon(pts, fill=shape_color(rng, CLASSES[k]))
        draw_label.polygon(pts, fill=ADE_IDS[k + 1][1], outline=0, width=OUTLINE)
    return img, label


def write_split(root: str, split: str, num_images: int, size: Tuple[int, int], seed: int,
                max_objects: int = 4) -> None:
    folder = {'train': 'training', 'val': 'validation'}[split]
    img_dir = osp.join(root, 'images', folder)
    ann_dir = osp.join(root, 'annotations', folder)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(num_images):
        img, label = _draw(rng, size, max_objects)
        name = f'ADE_{split}_{i + 1:08d}'
        img.save(osp.join(img_dir, name + '.jpg'), quality=95)
        label.save(osp.join(ann_dir, name + '.png'))


def make_synthetic_ade(root: str, num_train: int = 64, num_val: int = 16,
                       image_size: Sequence[int] = (128, 128), seed: int = 0,
                       force: bool = False) -> str:
    """Writes the set unless it is already there (then does nothing). Returns ``root``."""

    def write():
        write_split(root, 'train', num_train, tuple(image_size), seed)
        write_split(root, 'val', num_val, tuple(image_size), seed + 1)

    key = f'{num_train} {num_val} {tuple(image_size)} {seed}'
    return write_once(root, key, write, force)
