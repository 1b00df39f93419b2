"""What tools/image_demo.py and tools/test.py refuse before any model is built: each error
names the problem and the fix. (The Inferencer round trips are in the short-training tests of
test_detection.py and test_seg_cls.py.)"""
import os.path as osp

import pytest
from mmengine.config import Config
from PIL import Image

from lavit_mm.apis import build_inferencer, enable_prediction_drawing, enable_tta, list_images

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo')


def test_images_from_files_and_folders(tmp_path):
    for name in ('b.png', 'a.jpg'):
        Image.new('RGB', (8, 8)).save(tmp_path / name)
    (tmp_path / 'notes.txt').write_text('not an image')
    assert list_images(str(tmp_path)) == [str(tmp_path / 'a.jpg'), str(tmp_path / 'b.png')]
    assert list_images([str(tmp_path / 'b.png')]) == [str(tmp_path / 'b.png')]


def test_missing_and_non_image_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.jpg does not exist'):
        list_images(str(tmp_path / 'nope.jpg'))
    (tmp_path / 'fake.png').write_text('not an image')
    with pytest.raises(ValueError, match='fake.png is not an image'):
        list_images(str(tmp_path / 'fake.png'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        list_images(str(tmp_path / 'empty'))


def test_missing_checkpoint_and_unknown_toolbox_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint .* does not exist'):
        build_inferencer(osp.join(DEMO, 'lavit_t_synthetic_cls.py'), str(tmp_path / 'x.pth'))
    cfg = Config(dict(model=dict(type='X'), default_scope='mmengine'))
    with pytest.raises(ValueError, match="default_scope='mmengine'"):
        build_inferencer(cfg)


def test_show_dir_needs_a_visualization_hook_and_seg_tta_its_pipeline():
    cfg = Config.fromfile(osp.join(DEMO, 'lavit_t_synthetic_cls.py'))
    del cfg.default_hooks['visualization']
    with pytest.raises(ValueError, match='no default_hooks.visualization'):
        enable_prediction_drawing(cfg, 'out')
    seg = Config.fromfile(osp.join(DEMO, 'semfpn_lavit_t_synthetic.py'))
    seg.pop('tta_model')
    with pytest.raises(ValueError, match='no tta_model/tta_pipeline'):
        enable_tta(seg)
    enable_tta(Config.fromfile(osp.join(DEMO, 'semfpn_lavit_t_synthetic.py')))  # has them


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    """(Under another toolbox's default scope, as after an mmdet run in the same process: the
    Inferencer is built in its own toolbox's scope.)"""
    import torch
    from mmengine.registry import DefaultScope
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {'backbone.layer1.weight': torch.zeros(3)}}, path)
    with DefaultScope.overwrite_default_scope('mmdet'), \
            pytest.raises(ValueError, match='does not fit .*use the config the checkpoint'):
        build_inferencer(osp.join(DEMO, 'lavit_t_synthetic_cls.py'), path)
