"""Real aerial tree-crown detection data in COCO layout, from the ``deepforest==2.1.0`` wheel
(MIT): NEON RGB images (10 cm pixels) with crown boxes in Pascal VOC XML under
``deepforest/data/``. The wheel is read as a zip; deepforest itself is never installed.

    <root>/train/*.png + annotations/train.json   tiles of the YELL training image
    <root>/val/*.png   + annotations/val.json     OSBS_029 and SOAP_061, whole (400x400)

Training: ``2019_YELL_2_528000_4978000_image_crop2`` cut into ``tile`` x ``tile`` tiles that
overlap by ``overlap`` pixels (the last row/column of tiles flush with the border). A box cut
by a tile border is clipped to the tile and kept only if at least ``min_visible`` of its area
is inside and both clipped sides are at least ``min_side`` pixels: smaller slivers are
dropped (a crown a tile shows only a strip of is not a crown to find). Validation: two other
sites, so the score measures transfer, not memory. The wheel's other labelled images
(``RESERVED``) are in neither split: the reserve for later comparisons. Every label (Tree,
Dead, Alive) is one category, ``tree``.
"""
import io
import json
import os
import os.path as osp
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

from .write_once import write_once

WHEEL_REQUIREMENT = 'deepforest==2.1.0'
TRAIN_IMAGES = ('2019_YELL_2_528000_4978000_image_crop2', )
VAL_IMAGES = ('OSBS_029', 'SOAP_061')
RESERVED = ('2019_YELL_2_541000_4977000_image_crop', )
CATEGORIES = [dict(id=1, name='tree')]
LABELS = {'tree': 1, 'dead': 1, 'alive': 1}
Box = Tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels


def parse_voc(xml_text: str, source: str = '') -> Tuple[int, int, List[Box]]:
    """(width, height, boxes) of a Pascal VOC annotation; unknown labels are an error."""
    root = ET.fromstring(xml_text)
    size = root.find('size')
    width, height = int(size.findtext('width')), int(size.findtext('height'))
    boxes = []
    for obj in root.iter('object'):
        name = obj.findtext('name', '').strip()
        if name.lower() not in LABELS:
            raise ValueError(f'{source}: label {name!r} is not one of {sorted(LABELS)}')
        b = obj.find('bndbox')
        boxes.append(tuple(float(b.findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax')))
    return width, height, boxes


def tile_origins(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of tiles covering ``length`` pixels; the last tile ends at the border."""
    if tile >= length:
        return [0]
    stride = tile - overlap
    if stride <= 0:
        raise ValueError(f'overlap {overlap} must be smaller than the tile size {tile}')
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def tile_windows(width: int, height: int, tile: int, overlap: int) -> List[Tuple[int, ...]]:
    """(x0, y0, x1, y1) of the tiles covering a width x height image, row by row."""
    return [(x0, y0, min(x0 + tile, width), min(y0 + tile, height))
            for y0 in tile_origins(height, tile, overlap)
            for x0 in tile_origins(width, tile, overlap)]


def clip_boxes(boxes: Sequence[Box], window: Tuple[int, int, int, int], min_visible: float,
               min_side: float) -> Tuple[List[Box], int]:
    """Boxes clipped to ``window`` (x0, y0, x1, y1), in window coordinates, and the number of
    boxes in the window dropped as slivers (under ``min_visible`` of their area inside, or a
    clipped side under ``min_side`` pixels)."""
    x0, y0, x1, y1 = window
    kept, dropped = [], 0
    for bx1, by1, bx2, by2 in boxes:
        cx1, cy1, cx2, cy2 = max(bx1, x0), max(by1, y0), min(bx2, x1), min(by2, y1)
        if cx2 <= cx1 or cy2 <= cy1:
            continue  # outside the window
        area = (bx2 - bx1) * (by2 - by1)
        visible = (cx2 - cx1) * (cy2 - cy1) / area if area > 0 else 0.
        if visible < min_visible or min(cx2 - cx1, cy2 - cy1) < min_side:
            dropped += 1
            continue
        kept.append((cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0))
    return kept, dropped


def coco_json(images: Sequence[Tuple[str, int, int, Sequence[Box]]]) -> Dict:
    """COCO detection json from (file name, width, height, boxes) per image."""
    out = dict(images=[], annotations=[], categories=CATEGORIES)
    for image_id, (name, w, h, boxes) in enumerate(images, 1):
        out['images'].append(dict(id=image_id, file_name=name, width=w, height=h))
        for x1, y1, x2, y2 in boxes:
            out['annotations'].append(dict(
                id=len(out['annotations']) + 1, image_id=image_id, category_id=1,
                bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0))
    return out


def _wheels_in(cache: str) -> List[str]:
    return [f for f in os.listdir(cache) if f.startswith('deepforest-2.1.0-')
            and f.endswith('.whl')]


def fetch_wheel(cache: str) -> str:
    """The deepforest wheel in ``cache``, downloaded there (``pip download --no-deps``) when
    missing."""
    os.makedirs(cache, exist_ok=True)
    found = _wheels_in(cache)
    if not found:
        done = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps',
                               '--only-binary=:all:', '-d', cache, WHEEL_REQUIREMENT],
                              capture_output=True, text=True)
        found = _wheels_in(cache)
        if done.returncode or not found:
            raise FileNotFoundError(
                f'could not download the {WHEEL_REQUIREMENT} wheel into {cache} '
                f'(pip said: {done.stderr.strip()[-300:]}). On a machine with a package index '
                f'run: pip download --no-deps {WHEEL_REQUIREMENT} -d DIR, copy the .whl here '
                f'and pass it: python tools/prepare_neon_trees.py --wheel PATH')
    return osp.join(cache, found[0])


def _read(wheel: zipfile.ZipFile, name: str, path: str):
    try:
        return wheel.read(f'deepforest/data/{name}')
    except KeyError:
        raise ValueError(f'{path} has no deepforest/data/{name}: is it the '
                         f'{WHEEL_REQUIREMENT} wheel?') from None


def prepare_neon_trees(root: str = 'data/neon_trees', wheel: Optional[str] = None,
                       cache: Optional[str] = None, tile: int = 400, overlap: int = 100,
                       min_visible: float = 0.5, min_side: float = 4.,
                       force: bool = False) -> Dict:
    """Writes the set under ``root`` (once per set of arguments) and returns its summary
    (images, boxes, dropped slivers per split; also in ``root/summary.json``)."""
    from PIL import Image
    if wheel is None:
        cache = cache or osp.join(os.environ.get('XDG_CACHE_HOME', osp.expanduser('~/.cache')),
                                  'lavit_mm', 'wheels')
        wheel = fetch_wheel(cache)
    if not osp.isfile(wheel):
        raise FileNotFoundError(f'--wheel {wheel} does not exist')
    key = json.dumps(dict(wheel=osp.basename(wheel), tile=tile, overlap=overlap,
                          min_visible=min_visible, min_side=min_side))

    def write():
        summary = {}
        with zipfile.ZipFile(wheel) as z:
            for split, names in (('train', TRAIN_IMAGES), ('val', VAL_IMAGES)):
                os.makedirs(osp.join(root, split), exist_ok=True)
                entries, dropped = [], 0
                for name in names:
                    image = Image.open(io.BytesIO(_read(z, name + '.png', wheel)))
                    image = image.convert('RGB')
                    w, h, boxes = parse_voc(_read(z, name + '.xml', wheel).decode(), name)
                    if image.size != (w, h):
                        raise ValueError(f'{name}: image {image.size} vs XML size {(w, h)}')
                    step = (tile, overlap) if split == 'train' else (max(w, h), 0)
                    for x0, y0, x1, y1 in tile_windows(w, h, *step):
                        kept, cut = clip_boxes(boxes, (x0, y0, x1, y1), min_visible, min_side)
                        dropped += cut
                        file_name = (f'{name}_{x0}_{y0}.png' if split == 'train'
                                     else f'{name}.png')
                        image.crop((x0, y0, x1, y1)).save(osp.join(root, split, file_name))
                        entries.append((file_name, x1 - x0, y1 - y0, kept))
                os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
                with open(osp.join(root, 'annotations', f'{split}.json'), 'w') as f:
                    json.dump(coco_json(entries), f)
                summary[split] = dict(images=len(entries),
                                      boxes=sum(len(e[3]) for e in entries),
                                      dropped_slivers=dropped, sources=list(names))
        with open(osp.join(root, 'summary.json'), 'w') as f:
            json.dump(summary, f, indent=1)

    write_once(root, key, write, force)
    with open(osp.join(root, 'summary.json')) as f:
        return json.load(f)
