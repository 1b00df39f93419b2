"""The aerial tree-crown data tool on a tiny fake deepforest wheel: tiling, box clipping
across tile borders, dropped slivers, one 'tree' category for every label, the reserve kept
out, and mmdet's stock CocoDataset reading the result."""
import io
import json
import os.path as osp
import zipfile

import pytest
from PIL import Image

from lavit_mm.datasets.neon_trees import (RESERVED, TRAIN_IMAGES, VAL_IMAGES, parse_voc,
                                          prepare_neon_trees, tile_origins)


def _voc(w, h, objects):
    body = ''.join(f'<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>'
                   f'<xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>'
                   for n, (a, b, c, d) in objects)
    return f'<annotation><size><width>{w}</width><height>{h}</height></size>{body}</annotation>'


def _png(w, h, colour):
    buf = io.BytesIO()
    Image.new('RGBA', (w, h), colour).save(buf, format='PNG')
    return buf.getvalue()


TRAIN_OBJECTS = [('Tree', (2, 2, 10, 10)),     # inside the first tile only
                 ('Tree', (20, 4, 40, 20)),    # across the tile border: 60% / 80% inside
                 ('Tree', (29, 22, 45, 30))]   # 3/16 inside tile 1 (sliver), whole in tile 2
VAL_OBJECTS = {'OSBS_029': [('Tree', (1, 1, 9, 9))],
               'SOAP_061': [('Dead', (2, 3, 12, 13)), ('Alive', (4, 4, 8, 18))]}


@pytest.fixture()
def wheel(tmp_path):
    path = tmp_path / 'deepforest-2.1.0-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(f'deepforest/data/{TRAIN_IMAGES[0]}.png', _png(56, 32, (0, 90, 0, 255)))
        z.writestr(f'deepforest/data/{TRAIN_IMAGES[0]}.xml', _voc(56, 32, TRAIN_OBJECTS))
        for name in VAL_IMAGES:
            z.writestr(f'deepforest/data/{name}.png', _png(20, 20, (0, 0, 90, 255)))
            z.writestr(f'deepforest/data/{name}.xml', _voc(20, 20, VAL_OBJECTS[name]))
        z.writestr(f'deepforest/data/{RESERVED[0]}.png', _png(8, 8, (9, 9, 9, 255)))
        z.writestr(f'deepforest/data/{RESERVED[0]}.xml', _voc(8, 8, []))
    return str(path)


def test_tiles_cover_the_image_with_the_last_flush_to_the_border():
    assert tile_origins(56, 32, 8) == [0, 24]
    assert tile_origins(2299, 400, 100) == [0, 300, 600, 900, 1200, 1500, 1800, 1899]
    assert tile_origins(20, 32, 8) == [0]


def test_clipping_slivers_and_categories(wheel, tmp_path):
    root = str(tmp_path / 'trees')
    summary = prepare_neon_trees(root, wheel, tile=32, overlap=8)
    train = json.load(open(osp.join(root, 'annotations', 'train.json')))
    boxes = {img['file_name']: [a['bbox'] for a in train['annotations']
                                if a['image_id'] == img['id']] for img in train['images']}
    first, second = f'{TRAIN_IMAGES[0]}_0_0.png', f'{TRAIN_IMAGES[0]}_24_0.png'
    assert boxes == {first: [[2, 2, 8, 8], [20, 4, 12, 16]],      # the sliver of box 3 dropped
                     second: [[0, 4, 16, 16], [5, 22, 16, 8]]}     # tile coordinates
    assert summary['train'] == dict(images=2, boxes=4, dropped_slivers=1,
                                    sources=list(TRAIN_IMAGES))
    assert Image.open(osp.join(root, 'train', second)).size == (32, 32)
    assert Image.open(osp.join(root, 'train', second)).mode == 'RGB'
    val = json.load(open(osp.join(root, 'annotations', 'val.json')))
    assert [i['file_name'] for i in val['images']] == ['OSBS_029.png', 'SOAP_061.png']
    assert val['categories'] == [dict(id=1, name='tree')]
    assert [a['category_id'] for a in val['annotations']] == [1, 1, 1]  # Tree, Dead, Alive
    assert all(RESERVED[0] not in i['file_name'] for i in train['images'] + val['images'])


def test_idempotent_and_read_by_mmdet_coco_dataset(wheel, tmp_path):
    from mmdet.datasets import CocoDataset
    root = str(tmp_path / 'trees')
    prepare_neon_trees(root, wheel, tile=32, overlap=8)
    stamp = osp.getmtime(osp.join(root, 'annotations', 'train.json'))
    prepare_neon_trees(root, wheel, tile=32, overlap=8)
    assert osp.getmtime(osp.join(root, 'annotations', 'train.json')) == stamp
    dataset = CocoDataset(data_root=root, ann_file='annotations/train.json',
                          data_prefix=dict(img='train/'), metainfo=dict(classes=('tree', )),
                          pipeline=[])
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert [i['bbox'] for i in info['instances']] == [[0, 4, 16, 20], [5, 22, 21, 30]]


def test_unknown_label_and_wrong_wheel_are_refused(tmp_path):
    with pytest.raises(ValueError, match="label 'Bush'"):
        parse_voc(_voc(10, 10, [('Bush', (1, 1, 5, 5))]), 'x.xml')
    other = tmp_path / 'other.whl'
    with zipfile.ZipFile(other, 'w') as z:
        z.writestr('pkg/__init__.py', '')
    with pytest.raises(ValueError, match='is it the deepforest==2.1.0 wheel'):
        prepare_neon_trees(str(tmp_path / 'trees'), str(other))
