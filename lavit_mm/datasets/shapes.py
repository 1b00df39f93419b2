"""Filled shapes on smooth random backgrounds: what the embedded datasets draw.

One shape kind per class, its colour drawn around a class hue (hues are jittered, so colour
helps and shape decides). Shared by the COCO, ADE20K and ImageNet-layout generators.
"""
import colorsys
import math
from typing import List, Tuple

import numpy as np
from PIL import Image

CLASSES = ('circle', 'square', 'triangle', 'star')
# A class hue in degrees: colour helps, shape decides (hues are jittered and overlap a little).
HUES = {'circle': 0, 'square': 120, 'triangle': 220, 'star': 50}


PALETTE = [(220, 20, 60), (0, 160, 0), (0, 60, 220), (230, 200, 0)]


def shape_polygon(kind: str, cx: float, cy: float, size: float, angle: float):
    if kind == 'circle':
        n, radii = 24, [size / 2] * 24
    elif kind == 'square':
        n, radii = 4, [size / 2 * math.sqrt(2)] * 4
    elif kind == 'triangle':
        n, radii = 3, [size / math.sqrt(3)] * 3
    else:  # star: alternating radii
        n, radii = 10, [size / 2 if i % 2 == 0 else size / 4.5 for i in range(10)]
    pts = []
    for i in range(n):
        a = angle + 2 * math.pi * i / n
        pts.append((cx + radii[i] * math.cos(a), cy + radii[i] * math.sin(a)))
    return pts


def polygon_area(pts) -> float:
    x = np.array([p[0] for p in pts])
    y = np.array([p[1] for p in pts])
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def hsv_to_rgb(h: float, s: float, v: float) -> Tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((h % 360) / 360, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def background(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    coarse = rng.integers(40, 200, size=(4, 4, 3)).astype(np.uint8)
    img = Image.fromarray(coarse).resize((w, h), Image.BICUBIC)
    noise = rng.normal(0, 12, size=(h, w, 3))
    arr = np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def shape_color(rng: np.random.Generator, kind: str) -> Tuple[int, int, int]:
    """A colour around the class hue of ``kind``."""
    return hsv_to_rgb(HUES[kind] + rng.normal(0, 18), float(rng.uniform(0.6, 1)),
                      float(rng.uniform(0.6, 1)))


def clip_polygon(pts: List[Tuple[float, float]], h: int, w: int):
    return [(min(max(x, 0), w - 1), min(max(y, 0), h - 1)) for x, y in pts]
