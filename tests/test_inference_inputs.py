"""The images every backbone and model is given, in inference and training: odd sizes and
aspects, a batch of differently sized images, other channel counts, NaN/Inf, integer and
empty batches each get correct outputs or an error that names the problem and the fix; and
what tools/image_demo.py and tools/test.py refuse before any model is built. (The Inferencer
round trips are in the short-training tests of test_detection.py and test_seg_cls.py.)"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from lavit_mm.apis import build_inferencer, enable_prediction_drawing, enable_tta, list_images
from lavit_mm.models import PVT, LaViT
from tests.helpers import narrow_arch

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


def test_wrong_channel_count_names_both_counts_and_the_fix():
    model = LaViT(arch='tiny').eval()
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\), got \(1, 1, 64, 64\).*in_channels=1'):
        model(torch.randn(1, 1, 64, 64))
    grey = LaViT(arch='tiny', in_channels=1).eval()
    assert grey(torch.randn(1, 1, 64, 64))[0].shape == (1, 64, 16, 16)


@pytest.mark.parametrize('channels', [1, 4])
def test_greyscale_and_rgba_need_matching_in_channels(channels):
    model = LaViT(arch='tiny').eval()
    with pytest.raises(ValueError, match=rf'got \(2, {channels}, 64, 64\).*'
                       rf'in_channels={channels}'):
        model(torch.randn(2, channels, 64, 64))
    fixed = LaViT(arch='tiny', in_channels=channels).eval()
    assert fixed(torch.randn(2, channels, 64, 64))[3].shape == (2, 512, 2, 2)


def test_input_smaller_than_a_patch():
    model = PVT(arch='tiny').eval()  # floor-size patches, as mmdet's PVT
    with pytest.raises(ValueError, match='smaller than one 4x4 patch'):
        model(torch.randn(1, 3, 3, 64))


def test_tiny_inputs_work_with_corner_padding():
    model = LaViT(arch='pvt1-tiny').eval()  # pads up to whole patches
    outs = model(torch.randn(1, 3, 20, 9))
    assert [tuple(o.shape[-2:]) for o in outs] == [(5, 3), (3, 2), (2, 1), (1, 1)]


@pytest.mark.parametrize('size', [(20, 24), (64, 1024), (1024, 48), (31, 33)])
def test_small_and_extreme_aspect_inputs(size):
    """Smaller than the largest stride (32), or 1:16 aspect: every stage still has a map."""
    for model in (LaViT(arch='tiny'), LaViT(arch=narrow_arch(
            'window', depths=[1, 2, 2, 1], num_va=[1, 1, 1, 1]), attention='window')):
        outs = model.eval()(torch.randn(1, 3, *size))
        h, w = size
        for out in outs:
            h, w = -(-h // (4 if out is outs[0] else 2)), -(-w // (4 if out is outs[0] else 2))
            assert out.shape[-2:] == (h, w) and torch.isfinite(out).all()


@pytest.mark.slow
def test_batch_of_differently_sized_images_is_padded_by_the_preprocessor():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.structures import InstanceData
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'retinanet_lavit_t_synthetic.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    sizes = [(97, 150), (160, 61)]
    samples = []
    for h, w in sizes:
        s = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                        scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[5., 5., 40., 50.]]),
                                      labels=torch.tensor([1]))
        samples.append(s)
    data = model.data_preprocessor(dict(
        inputs=[torch.randint(0, 255, (3, h, w), dtype=torch.uint8) for h, w in sizes],
        data_samples=samples), True)
    assert data['inputs'].shape == (2, 3, 160, 160)  # padded to the largest, /32
    loss, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(dict(
            inputs=[torch.randint(0, 255, (3, h, w), dtype=torch.uint8) for h, w in sizes],
            data_samples=samples), False), mode='predict')
    assert len(results) == 2


def test_nan_inf_detected_when_the_debug_flag_asks():
    x = torch.randn(3, 3, 64, 64)
    x[1, 0, 5, 5] = float('nan')
    x[2, 2, 0, 0] = float('inf')
    quiet = LaViT(arch='tiny').eval()
    assert not torch.isfinite(quiet(x)[0]).all()  # off by default: no cost, no check
    strict = LaViT(arch='tiny', check_finite=True).eval()
    with pytest.raises(FloatingPointError, match=r'input images hold NaN/Inf \(2 values, '
                       r'batch samples \[1, 2\]\).*data preprocessor'):
        strict(x)
    with torch.no_grad():
        strict.stages[2].blocks[0].mlp.fc2.bias.fill_(float('inf'))
    with pytest.raises(FloatingPointError, match='output of stage 3'):
        strict(torch.randn(1, 3, 64, 64))


def test_non_finite_images_are_refused_in_training_by_default():
    """Without the debug flag, training on NaN/Inf images fails at once with the cause
    (the weights would otherwise go NaN silently); evaluation stays check-free."""
    model = LaViT(arch=narrow_arch()).train()
    x = torch.randn(2, 3, 64, 64)
    x[1, 0, 3, 3] = float('nan')
    with pytest.raises(RuntimeError, match=r'input images hold NaN/Inf in training.*data '
                                           r'preprocessor'):
        model(x)
    assert model.aux_losses() == {}  # nothing of the refused step is kept
    model(torch.randn(2, 3, 64, 64))  # finite images train
    assert 'loss_dp' in model.aux_losses()
    assert not torch.isfinite(model.eval()(x)[0]).all()


@pytest.mark.parametrize('dtype', [torch.uint8, torch.int64, torch.bool])
def test_integer_images_are_refused_with_the_fix(dtype):
    model = LaViT(arch=narrow_arch()).eval()
    with pytest.raises(TypeError, match=rf'float tensor.*got {dtype}.*data preprocessor'):
        model(torch.zeros(1, 3, 64, 64, dtype=dtype))


@pytest.mark.parametrize('kwargs', [
    dict(), dict(attention='window'),
    dict(remedies=dict(stage_types=('conv', 'conv', 'attn', 'attn')))])
@pytest.mark.parametrize('training', [False, True])
def test_empty_batch_gives_empty_maps_of_the_right_shape(kwargs, training):
    """0 images -> 0 maps with the channels and grid of one image, as torch's layers do; no
    step counter moves and no loss is left behind in training."""
    model = LaViT(arch=narrow_arch(kwargs.get('attention', 'sra')), **kwargs)
    model.init_weights()
    one = [o.shape for o in model.eval()(torch.randn(1, 3, 45, 61))]
    model.train(training)
    outs = model(torch.randn(0, 3, 45, 61))
    assert [o.shape for o in outs] == [(0, *s[1:]) for s in one]
    assert model.training == training and int(model.dp_step) == 0
    assert model.aux_losses() == {}
