"""Mixed precision in all three tasks, and hostile inputs: each gets correct behaviour or an
error that names the problem and the fix."""
import json
import math
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from lavit_mm.apis import build_runner
from lavit_mm.models import LaViT
from tests.helpers import local_data_options, narrow_arch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMOS = {
    'det': ('retinanet_lavit_t_synthetic.py', 'coco_root', 'train/loss'),
    'seg': ('semfpn_lavit_t_synthetic.py', 'ade_root', 'train/loss'),
    'cls': ('lavit_t_synthetic_cls.py', 'imagenet_root', 'train/loss'),
}


def demo_cfg(task, root, work_dir, **extra):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', DEMOS[task][0]))
    opts = {**local_data_options(root, coco_ann=task == 'det'), 'work_dir': str(work_dir),
            'default_hooks.logger.interval': 1, 'log_processor.window_size': 1}
    if task == 'cls':
        opts.update({'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 10,
                     'default_hooks.checkpoint.interval': 10})
    else:
        opts.update({'train_cfg.max_iters': 3, 'train_cfg.val_interval': 100,
                     'default_hooks.checkpoint.interval': 100})
    opts.update(extra)
    cfg.merge_from_dict(opts)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(DEMOS))
def test_amp_runs_all_tasks_without_nan(task, tmp_path, request):
    root = request.getfixturevalue(DEMOS[task][1])
    # bf16 is emulated on CPUs without native support (about 19x slower here): keep it short;
    # on a GPU, --amp is mmengine's fp16 AmpOptimWrapper
    small = {} if task == 'cls' else {'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 2}
    runner = build_runner(demo_cfg(task, root, tmp_path, **small), 'train', amp=True)
    runner.train()
    if torch.cuda.is_available():  # --amp on a GPU: mmengine's fp16 with loss scaling
        assert type(runner.optim_wrapper).__name__ == 'AmpOptimWrapper'
        assert runner.optim_wrapper.cast_dtype in (None, torch.float16)  # None: fp16
    else:  # on CPU: bf16 autocast, no loss scaling
        assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
        assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    losses = [float(v) for v in runner.message_hub.get_scalar(DEMOS[task][2]).data[0]]
    dp = [float(v) for v in runner.message_hub.get_scalar('train/loss_dp').data[0]]
    assert losses and all(math.isfinite(v) for v in losses + dp), losses


def test_autocast_keeps_dp_loss_in_fp32():
    model = LaViT(arch='tiny', dp_loss_weight=1.0).train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        model(torch.randn(1, 3, 64, 64))
    assert model.aux_losses()['loss_dp'].dtype == torch.float32


# ------------------------------------------------------------------ hostile inputs
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


@pytest.mark.parametrize('channels', [1, 4])
def test_greyscale_and_rgba_need_matching_in_channels(channels):
    model = LaViT(arch='tiny').eval()
    with pytest.raises(ValueError, match=rf'got \(2, {channels}, 64, 64\).*'
                       rf'in_channels={channels}'):
        model(torch.randn(2, channels, 64, 64))
    fixed = LaViT(arch='tiny', in_channels=channels).eval()
    assert fixed(torch.randn(2, channels, 64, 64))[3].shape == (2, 512, 2, 2)


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
    dict(), dict(attention='window'), dict(stage_types=('conv', 'conv', 'attn', 'attn'))])
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


@pytest.mark.parametrize('checkpoint', [123, ['a.pth'], None])
def test_init_cfg_checkpoint_must_be_a_path(checkpoint):
    with pytest.raises((TypeError, ValueError), match='checkpoint'):
        LaViT(arch=narrow_arch(), init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    if checkpoint == 123:
        with pytest.raises(TypeError, match=r'file path or URL, got 123 \(int\)'):
            LaViT(arch=narrow_arch(), init_cfg=dict(type='Pretrained', checkpoint=123))


@pytest.mark.slow
def test_images_without_annotations_train(coco_root, tmp_path):
    """COCO images with no objects: kept when filter_empty_gt=False, and the detector
    trains on them (RetinaNet's losses are all negatives there)."""
    root = tmp_path / 'coco'
    shutil.copytree(coco_root, root)
    ann_file = root / 'annotations' / 'instances_train2017.json'
    ann = json.load(open(ann_file))
    emptied = {img['id'] for img in ann['images'][:4]}
    ann['annotations'] = [a for a in ann['annotations'] if a['image_id'] not in emptied]
    json.dump(ann, open(ann_file, 'w'))
    cfg = demo_cfg('det', str(root) + '/', tmp_path / 'work', **{
        'train_dataloader.dataset.filter_cfg.filter_empty_gt': False,
        'train_dataloader.batch_size': 4, 'train_dataloader.sampler.shuffle': False,
        'train_cfg.max_iters': 2})  # the empty images' batch, then the annotated one
    runner = build_runner(cfg, 'train')
    assert len(runner.train_dataloader.dataset) == 8
    runner.train()
    losses = [float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)


def _write_truncated(src, dst):
    data = open(src, 'rb').read()
    open(dst, 'wb').write(data[:len(data) // 2])


def test_truncated_or_corrupt_checkpoint_is_named(tmp_path):
    from lavit_mm.models.checkpoint import load_pretrained
    model = LaViT(arch='tiny')
    torch.save(model.state_dict(), tmp_path / 'ok.pth')
    _write_truncated(tmp_path / 'ok.pth', tmp_path / 'cut.pth')
    data = bytearray(open(tmp_path / 'ok.pth', 'rb').read())
    data[len(data) // 3] ^= 0xFF  # one flipped byte inside a tensor's data
    (tmp_path / 'flipped.pth').write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r'flipped.pth is corrupt'):
        load_pretrained(model, str(tmp_path / 'flipped.pth'))
    with pytest.raises(ValueError, match=r'cut.pth is truncated.*re-download'):
        load_pretrained(model, str(tmp_path / 'cut.pth'))
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='empty'):
        load_pretrained(model, str(tmp_path / 'empty.pth'))
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    with pytest.raises(ValueError, match='text.pth is not a torch checkpoint'):
        load_pretrained(model, str(tmp_path / 'text.pth'))
    assert load_pretrained(model, str(tmp_path / 'ok.pth')).missing == []


@pytest.mark.slow
def test_resume_from_truncated_checkpoint_is_named(coco_root, tmp_path):
    cfg = demo_cfg('det', coco_root, tmp_path, **{'train_cfg.max_iters': 2,
                                                  'default_hooks.checkpoint.interval': 2})
    build_runner(cfg, 'train').train()
    _write_truncated(tmp_path / 'iter_2.pth', tmp_path / 'iter_2.cut')
    shutil.move(tmp_path / 'iter_2.cut', tmp_path / 'iter_2.pth')  # killed while saving
    cfg = demo_cfg('det', coco_root, tmp_path, **{'train_cfg.max_iters': 4})
    with pytest.raises(ValueError, match=r'iter_2.pth is truncated.*--resume WORK_DIR/iter_N'):
        build_runner(cfg, 'train', resume='auto')
    with pytest.raises(ValueError, match='iter_2.pth is truncated'):
        build_runner(cfg, 'test', checkpoint=str(tmp_path / 'iter_2.pth'))
