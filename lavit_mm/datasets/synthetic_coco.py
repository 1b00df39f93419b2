"""A small detection/instance-segmentation set in exact COCO layout, generated on the spot.

    <root>/annotations/instances_train2017.json, instances_val2017.json
    <root>/train2017/*.jpg, <root>/val2017/*.jpg

mmdet's stock ``CocoDataset`` reads it with only ``data_root`` and ``metainfo`` changed.
Objects are filled shapes (``shapes.py``: one shape per class), small,
medium and large in the COCO sense (area < 32^2, < 96^2, larger), on smooth random
backgrounds, with polygon masks. The same seed gives byte-identical files.
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import ImageDraw, ImageFilter

from .shapes import (CLASSES, PALETTE, background, clip_polygon, polygon_area, shape_color,
                     shape_polygon)
from .write_once import write_once


def metainfo() -> Dict[str, tuple]:
    """The ``metainfo`` to give mmdet's CocoDataset for this set."""
    return dict(classes=CLASSES, palette=PALETTE)


SIZE_RANGES = ((10, 28), (34, 80), (100, 150))  # side lengths: small, medium, large


def _draw_image(rng: np.random.Generator, size: Tuple[int, int], max_objects: int):
    h, w = size
    img = background(rng, h, w)
    draw = ImageDraw.Draw(img)
    objects, boxes = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind = CLASSES[int(rng.integers(len(CLASSES)))]
        lo, hi = SIZE_RANGES[int(rng.integers(len(SIZE_RANGES)))]
        hi = min(hi, 0.9 * min(h, w))  # small images: cap sizes at the image
        side = float(rng.uniform(min(lo, hi), hi))
        for _attempt in range(20):  # place without heavy overlap
            cx, cy = rng.uniform(side / 2, w - side / 2), rng.uniform(side / 2, h - side / 2)
            box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
            if all(_iou(box, b) < 0.1 for b in boxes):
                break
        else:
            continue
        pts = shape_polygon(kind, cx, cy, side, float(rng.uniform(0, 2 * math.pi)))
        draw.polygon(pts, fill=shape_color(rng, kind))
        pts = clip_polygon(pts, h, w)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        boxes.append((bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]))
        objects.append(dict(category=kind, bbox=bbox, polygon=pts, area=polygon_area(pts)))
    img = img.filter(ImageFilter.GaussianBlur(radius=0.6))
    return img, objects


def _iou(a, b) -> float:
    ix = max(0., min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0., min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.


def write_split(root: str, split: str, num_images: int, image_size: Tuple[int, int],
                seed: int, max_objects: int = 5) -> str:
    """Writes ``<root>/<split>2017/`` and ``annotations/instances_<split>2017.json``."""
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, f'{split}2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=c, supercategory='shape') for i, c in enumerate(CLASSES)]
    cat_id = {c['name']: c['id'] for c in categories}
    images: List[dict] = []
    annotations: List[dict] = []
    for i in range(num_images):
        img, objects = _draw_image(rng, image_size, max_objects)
        file_name = f'{split}_{i:05d}.jpg'
        img.save(osp.join(img_dir, file_name), quality=95)
        images.append(dict(id=i + 1, file_name=file_name, height=image_size[0],
                           width=image_size[1]))
        for obj in objects:
            annotations.append(dict(
                id=len(annotations) + 1, image_id=i + 1, category_id=cat_id[obj['category']],
                bbox=[round(v, 2) for v in obj['bbox']], area=round(obj['area'], 2),
                segmentation=[[round(v, 2) for p in obj['polygon'] for v in p]], iscrowd=0))
    ann_file = osp.join(root, 'annotations', f'instances_{split}2017.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(info=dict(description='lavit_mm synthetic shapes', version='1'),
                       licenses=[], images=images, annotations=annotations,
                       categories=categories), f)
    return ann_file


def make_synthetic_coco(root: str, num_train: int = 96, num_val: int = 24,
                        image_size: Sequence[int] = (256, 256), seed: int = 0,
                        force: bool = False) -> str:
    """Writes the set unless it is already there (then does nothing). Returns ``root``."""

    def write():
        write_split(root, 'train', num_train, tuple(image_size), seed)
        write_split(root, 'val', num_val, tuple(image_size), seed + 1)

    key = f'{num_train} {num_val} {tuple(image_size)} {seed}'
    return write_once(root, key, write, force)
