"""Real small-data classification: the -32px presets, Fashion-MNIST put in place for
mmpretrain's stock FashionMNIST dataset (read back from IDX files the test writes), the
Fashion-MNIST/CIFAR configs, missing-data errors, and the comparison tool (aggregation,
resume, refusal to mix metrics) on tiny real runs."""
import re
import gzip
import json
import os
import os.path as osp
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from lavit_mm_lab.compare import (LOCK, RESULT, aggregate, build_model, compare,
                                  load_with_options, plot_curves, plot_runs, read_scalars,
                                  run_once, smoothed, to_markdown, train_run, write_csv)
from lavit_mm.apis import build_runner
from lavit_mm.datasets.fashion_mnist import FILES, prepare_fashion_mnist
from lavit_mm.models.backbones import LaViT, PVT, Swin

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FMNIST_CONFIGS = ['lavit_t', 'lavit_s', 'pvt_t', 'pvt_s', 'swin_t', 'lavit_swin_t']


# ------------------------------------------------------------------ -32px presets
def _grids(model, size=32, channels=3):
    states = model.eval().attention_states(torch.zeros(1, channels, size, size))
    return [(tuple(s[0].hw_q), tuple(s[0].hw_k)) for s in states]


@pytest.mark.parametrize('cls', [LaViT, PVT])
def test_small_input_sra_presets_attend_over_real_key_grids(cls):
    # the ImageNet form leaves a 32 px image 1x1 key grids: attention over one key
    assert [k for _, k in _grids(cls(arch='tiny'))] == [(1, 1)] * 4
    assert _grids(cls(arch='tiny-32px')) == [((16, 16), (8, 8)), ((8, 8), (8, 8)),
                                             ((4, 4), (4, 4)), ((2, 2), (2, 2))]
    small = cls(arch='small-32px')
    assert small.arch['depths'] == [3, 4, 6, 3] and small.arch['patch_sizes'] == [2, 2, 2, 2]


@pytest.mark.parametrize('make', [lambda: Swin(arch='tiny-32px'),
                                  lambda: LaViT(arch='tiny-32px', attention='window')])
def test_small_input_window_presets_use_windows_of_four(make):
    model = make()
    blocks = [b.attn for s in model.stages for b in s.blocks]
    assert {a.window_size for a in blocks} == {4}
    # padded grids 16/8/4/4 (stage 4's 2x2 map padded to one window), as Swin pads
    assert [q for q, _ in _grids(model)] == [(16, 16), (8, 8), (4, 4), (4, 4)]
    outs = model(torch.zeros(2, 3, 32, 32))
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2)]


def test_window_size_explicit_overrides_preset_and_is_refused_for_sra():
    assert Swin(arch='tiny-32px', window_size=2).stages[0].blocks[0].attn.window_size == 2
    assert Swin(arch='tiny').stages[0].blocks[0].attn.window_size == 7
    assert LaViT(arch='tiny-32px', attention=dict(type='window', window_size=2)
                 ).stages[0].blocks[0].attn.window_size == 2
    with pytest.raises(ValueError, match=re.escape(
            "attention.window_size is not an option here; attention takes ['cross_stage_rank', "
            "'cross_stage_residual', 'patch_padding', 'pretrain_img_size', 'use_abs_pos_embed'] "
            "(attention='window' takes it)")):
        LaViT(arch='tiny-32px', attention=dict(type='sra', window_size=4))
    with pytest.raises(TypeError, match=re.escape(
            "window_size is written attention=dict(type=..., window_size=...)")):
        LaViT(arch='tiny-32px', window_size=4)  # not a keyword of mmdet's PVT v2 either
    with pytest.raises(ValueError, match=r"arch keys \['window_size'\] do not apply to "
                                         r"attention='sra'"):
        PVT(arch=dict(PVT.arch_zoo['tiny'], window_size=4))


# ------------------------------------------------------------------ Fashion-MNIST files
def _write_idx(folder, name, array, magic, gz=True):
    header = struct.pack('>II', magic, array.shape[0])
    if array.ndim == 3:
        header += struct.pack('>II', *array.shape[1:])
    opener = gzip.open if gz else open
    with opener(osp.join(folder, name + ('.gz' if gz else '')), 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion_mnist(folder, num_train=24, num_test=12, seed=0, gz=True):
    """Four IDX files of random 28x28 images with labels 0..9 cycling."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    data = {}
    for split, n in (('train', num_train), ('t10k', num_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        _write_idx(folder, f'{split}-images-idx3-ubyte', images, 2051, gz)
        _write_idx(folder, f'{split}-labels-idx1-ubyte', labels, 2049, gz)
        data[split] = (images, labels)
    return data


@pytest.fixture(scope='module')
def fmnist_root(tmp_path_factory):
    src = str(tmp_path_factory.mktemp('fmnist_gz'))
    write_fashion_mnist(src)
    return prepare_fashion_mnist(str(tmp_path_factory.mktemp('data') / 'fashion-mnist'), [src])


def test_prepare_extracts_gz_files_read_by_the_stock_dataset(tmp_path):
    from mmpretrain.datasets import FashionMNIST
    src = tmp_path / 'debian'
    data = write_fashion_mnist(str(src), num_train=6, num_test=4)
    root = prepare_fashion_mnist(str(tmp_path / 'data'), ['/nonexistent', str(src)])
    assert sorted(os.listdir(root)) == sorted(FILES)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/small_data/lavit_t_fashion_mnist.py'))
    for split, loader, n in (('train', cfg.train_dataloader, 6), ('t10k', cfg.val_dataloader, 4)):
        kwargs = dict(loader.dataset, data_root=root, pipeline=[])
        kwargs.pop('type')
        dataset = FashionMNIST(**kwargs)
        images, labels = data[split]
        assert len(dataset) == n
        for i in (0, n - 1):
            assert (dataset[i]['img'] == images[i]).all()
            assert int(dataset[i]['gt_label']) == labels[i]


def test_prepare_is_idempotent_and_accepts_extracted_files(tmp_path):
    src = tmp_path / 'plain'
    write_fashion_mnist(str(src), gz=False)
    root = prepare_fashion_mnist(str(tmp_path / 'data'), [str(src)])
    stamps = {n: os.stat(osp.join(root, n)).st_mtime_ns for n in FILES}
    prepare_fashion_mnist(root, [])  # already complete: no source needed, nothing rewritten
    assert stamps == {n: os.stat(osp.join(root, n)).st_mtime_ns for n in FILES}


def test_prepare_without_files_says_where_it_looked_and_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        prepare_fashion_mnist(str(tmp_path / 'data'), [str(tmp_path / 'empty')])
    message = str(e.value)
    assert str(tmp_path / 'empty') in message
    assert 'apt-get install dataset-fashion-mnist' in message and '--from DIR' in message
    bad = tmp_path / 'bad'
    write_fashion_mnist(str(bad))
    _write_idx(str(bad), 'train-labels-idx1-ubyte', np.zeros((24, 28, 28)), 2051)  # images
    with pytest.raises(ValueError, match='IDX magic 2051, expected 2049'):
        prepare_fashion_mnist(str(tmp_path / 'data2'), [str(bad)])


@pytest.mark.parametrize('config, hint', [
    ('lavit_t_fashion_mnist', 'tools/prepare_fashion_mnist.py'),
    ('pvt_t_cifar10', 'cifar-10-python.tar.gz'),
    ('swin_t_cifar100', 'cifar-100-python.tar.gz'),
])
def test_missing_data_names_path_config_key_and_how_to_get_it(tmp_path, config, hint):
    cfg = Config.fromfile(osp.join(ROOT, f'configs/small_data/{config}.py'))
    cfg.work_dir = str(tmp_path / 'work')
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = str(tmp_path)  # exists, but holds nothing
    with pytest.raises(FileNotFoundError) as e:
        build_runner(cfg, 'train')
    message = str(e.value)
    assert str(tmp_path) in message and hint in message
    assert 'train_dataloader.dataset.data_root' in message


@pytest.mark.parametrize('dataset, channels, classes', [
    ('fashion_mnist', 1, 10), ('cifar10', 3, 10), ('cifar100', 3, 100)])
@pytest.mark.parametrize('name', FMNIST_CONFIGS)
def test_small_data_classifiers_build_and_classify_32px_images(name, dataset, channels, classes):
    cfg = Config.fromfile(osp.join(ROOT, f'configs/small_data/{name}_{dataset}.py'))
    model = build_model(cfg).eval()  # as the Runner builds it
    assert model.data_preprocessor.mean.numel() == channels
    with torch.no_grad():
        logits = model(torch.zeros(2, channels, 32, 32), mode='tensor')
    assert logits.shape == (2, classes)


# ------------------------------------------------------------------ comparison tool
@pytest.fixture(scope='module')
def tiny_config(fmnist_root, tmp_path_factory):
    """The PVT-T Fashion-MNIST config on the tiny IDX set, 1 epoch, with a 16-wide
    one-block-per-stage PVT on the -32px grids: seconds per run."""
    path = tmp_path_factory.mktemp('configs') / 'tiny_pvt_fashion_mnist.py'
    path.write_text(f"""
_base_ = '{osp.join(ROOT, 'configs/small_data/pvt_t_fashion_mnist.py')}'
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=[16, 16, 16, 16], num_heads=[1, 1, 1, 1],
                            mlp_ratios=[1, 1, 1, 1], sr_ratios=[2, 1, 1, 1],
                            patch_sizes=[2, 2, 2, 2], depths=[1, 1, 1, 1])),
    head=dict(in_channels=16))
train_cfg = dict(max_epochs=1)
# two iterations per epoch: the recipe's fifth-of-an-epoch warm-up would round to none
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=1))
train_dataloader = dict(batch_size=12, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root='{fmnist_root}'))
val_dataloader = dict(batch_size=12, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root='{fmnist_root}'))
test_dataloader = val_dataloader
""")
    return str(path)


@pytest.mark.slow
def test_comparison_runs_aggregates_and_does_not_rerun_finished_runs(tiny_config, tmp_path):
    configs, options, calls = [tiny_config], [], []

    def counting_train(*args, **kwargs):
        calls.append(args[0])
        return train_run(*args, **kwargs)

    work = str(tmp_path / 'cmp')
    rows = compare(configs, [0, 1], work, options, train=counting_train)
    assert len(calls) == 2
    per_run = [json.load(open(osp.join(work, 'tiny_pvt_fashion_mnist', f'seed{s}', RESULT)))
               for s in (0, 1)]
    top1 = [r['metrics']['accuracy/top1'] for r in per_run]
    assert rows[0].metrics['accuracy/top1'] == top1
    assert rows[0].mean_std('accuracy/top1')[0] == pytest.approx(sum(top1) / 2)
    model = build_model(load_with_options(configs[0], options))
    assert rows[0].params_m == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    # the same command with one more seed trains only the new seed
    rows = compare(configs, [0, 1, 2], work, options, train=counting_train)
    assert len(calls) == 3 and rows[0].seeds == [0, 1, 2]
    path = plot_curves(work, rows, str(tmp_path / 'curves.png'))
    assert os.path.getsize(path) > 10_000


@pytest.mark.slow
def test_comparison_resumes_a_killed_run_from_its_checkpoint(tiny_config, tmp_path):
    config, options = tiny_config, ['train_cfg.max_epochs=1']
    run_dir = str(tmp_path / 'cmp' / 'tiny_pvt_fashion_mnist' / 'seed0')
    # a 2-epoch run "killed" after epoch 1: its checkpoint is there, its result is not
    train_run(config, run_dir, options + ['randomness.seed=0'])
    assert not osp.exists(osp.join(run_dir, RESULT))
    resumed = []

    def spy(config, work_dir, options, resume=False):
        resumed.append(resume)
        return train_run(config, work_dir, options, resume)

    two_epochs = [o.replace('max_epochs=1', 'max_epochs=2') for o in options]
    compare([config], [0], str(tmp_path / 'cmp'), two_epochs, train=spy,
            with_complexity=False)
    result = json.load(open(osp.join(run_dir, RESULT)))
    assert resumed == [True] and result['resumed_from'] == 1
    evals = [r for r in read_scalars(run_dir) if 'accuracy/top1' in r]
    assert [r['step'] for r in evals] == [1, 2]  # both attempts' evaluations, merged


# ------------------------------------------------------------------ exact resume, augmented
def _epoch_seeded_config(tiny_config, tmp_path, hook):
    """The tiny config with flips drawn in one loader worker and drop path 0.1, with or
    without EpochSeedHook (with it, the workers are not persistent, as the hook needs)."""
    path = tmp_path / ('tiny_hook.py' if hook else 'tiny_plain.py')
    path.write_text(f"""
_base_ = '{tiny_config}'
model = dict(backbone=dict(drop_path_rate=0.1))
train_dataloader = dict(num_workers=1, persistent_workers={not hook})
train_cfg = dict(val_interval=100)
custom_hooks = {[dict(type='lavit_mm.EpochSeedHook')] if hook else []}
""")
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('hook', [True, False], ids=['epoch_seed_hook', 'mmengine_default'])
def test_epoch_seed_hook_makes_an_augmented_resume_bitwise_equal(tiny_config, tmp_path, hook):
    """3 epochs straight vs 1 epoch then --resume to 3: the same weights with EpochSeedHook
    (flips in a worker, drop path in the main process); without it (persistent workers, the
    configs' default) the resumed run draws other flips and masks and ends elsewhere."""
    config = _epoch_seeded_config(tiny_config, tmp_path, hook)
    seed = ['randomness.seed=0']
    train_run(config, str(tmp_path / 'straight'), seed + ['train_cfg.max_epochs=3'])
    resumed = str(tmp_path / 'resumed')
    train_run(config, resumed, seed + ['train_cfg.max_epochs=1'])
    train_run(config, resumed, seed + ['train_cfg.max_epochs=3'], resume=True)
    a = torch.load(tmp_path / 'straight' / 'epoch_3.pth', map_location='cpu',
                   weights_only=False)['state_dict']
    b = torch.load(osp.join(resumed, 'epoch_3.pth'), map_location='cpu',
                   weights_only=False)['state_dict']
    equal = all(torch.equal(a[k], b[k]) for k in a)
    assert equal == hook


def test_epoch_seed_hook_draws_anew_each_epoch_and_per_worker():
    from lavit_mm.engine.epoch_seed import seed_worker

    def flips(worker, epoch):
        seed_worker(worker, seed=0, epoch=epoch, rank=0)
        return np.random.rand(8).tolist(), torch.rand(8).tolist()

    assert flips(0, 1) == flips(0, 1)
    assert flips(0, 1) != flips(0, 2)  # mmengine's default seeds a worker alike every epoch
    assert flips(0, 1) != flips(1, 1)


@pytest.mark.slow
@pytest.mark.parametrize('change, message', [
    (dict(train_dataloader=dict(num_workers=1, persistent_workers=True)),
     'cannot seed persistent loader workers.*persistent_workers=False'),
    (dict(train_cfg=dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)),
     'seeds per epoch, but this run trains with IterBasedTrainLoop'),
])
def test_epoch_seed_hook_refuses_what_it_cannot_seed(tiny_config, tmp_path, change, message):
    cfg = Config.fromfile(tiny_config)
    cfg.merge_from_dict(dict(custom_hooks=[dict(type='lavit_mm.EpochSeedHook')],
                             work_dir=str(tmp_path)))
    cfg.merge_from_dict(change)
    if 'train_cfg' in change:  # an iteration-based run takes an infinite sampler
        cfg.train_dataloader.sampler = dict(type='InfiniteSampler')
    runner = build_runner(cfg, 'train')
    with pytest.raises(ValueError, match=message):
        runner.train()


def test_comparison_refuses_a_run_folder_another_process_is_training(tiny_config, tmp_path):
    """Two comparisons on one folder overwrite each other's checkpoints and mix their logs:
    the second is refused while the first's process lives; a dead process's lock is taken."""
    run_dir = tmp_path / 'seed0'
    run_dir.mkdir()
    (run_dir / LOCK).write_text(str(os.getpid()))  # a live process: this one
    calls = []

    def fake_train(config, work_dir, options, resume=False):
        assert (run_dir / LOCK).read_text() == str(os.getpid())  # held while training
        calls.append(resume)
        logs = run_dir / '20260101_000000' / 'vis_data'
        logs.mkdir(parents=True)
        records = [dict(lr=1e-3, loss=1.0, time=0.5, iter=2, epoch=1, step=2),
                   {'accuracy/top1': 50.0, 'step': 1}]
        (logs / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))

    with pytest.raises(RuntimeError, match=f'being trained by process {os.getpid()}'):
        run_once(tiny_config, 0, str(run_dir), train=fake_train)
    assert calls == []
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    (run_dir / LOCK).write_text(str(gone.pid))
    result = run_once(tiny_config, 0, str(run_dir), train=fake_train)
    assert calls == [False] and result['metrics'] == {'accuracy/top1': 50.0}
    assert not list(run_dir.glob(LOCK + '*'))  # the lock and its pid file are gone


def _result(seed, metrics):
    return dict(seed=seed, metrics=metrics, unit='epoch', seconds_per_unit=10.)


def test_aggregate_refuses_runs_with_different_metrics():
    results = {'cls': [_result(0, {'accuracy/top1': 90.})],
               'det': [_result(0, {'coco/bbox_mAP': 0.3})]}
    with pytest.raises(ValueError, match='cannot aggregate runs with different metrics'):
        aggregate(results)


def test_table_reports_mean_and_sample_std_per_config(tmp_path):
    rows = aggregate({'a': [_result(0, {'top1': 90.}), _result(1, {'top1': 92.})],
                      'b': [_result(0, {'top1': 80.}), _result(1, {'top1': 80.}),
                            _result(2, {'top1': 83.})]})
    table = to_markdown(rows)
    assert '| a | 0 1 | 91.00 ± 1.41 | 90.00 / 92.00 |' in table
    assert '| b | 0 1 2 | 81.00 ± 1.73 |' in table
    write_csv(rows, str(tmp_path / 't.csv'))
    lines = open(tmp_path / 't.csv').read().splitlines()
    assert lines[1].startswith('a,0 1,91.0000,1.4142,')


def test_table_gives_map_three_decimals_and_one_seed_no_std():
    rows = aggregate({'a': [_result(0, {'coco/bbox_mAP': 0.1234}),
                            _result(1, {'coco/bbox_mAP': 0.2})],
                      'b': [_result(0, {'coco/bbox_mAP': 0.05})]})
    table = to_markdown(rows)
    assert '| a | 0 1 | 0.162 ± 0.054 | 0.123 / 0.200 |' in table
    assert '| b | 0 | 0.050 ± - | 0.050 |' in table


def test_evaluations_of_an_iteration_based_run_are_all_kept(tmp_path):
    """mmengine logs every evaluation of an IterBasedTrainLoop with step 0: each must be kept,
    at the iteration it followed (they were once merged into the last one)."""
    run = tmp_path / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [dict(lr=1e-3, loss=2.0, iter=300, step=300),
             {'coco/bbox_mAP_50': 0.09, 'step': 0},
             dict(lr=1e-4, loss=1.5, iter=600, step=600),
             {'coco/bbox_mAP_50': 0.15, 'step': 0}]
    (run / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in lines))
    evals = [r for r in read_scalars(str(tmp_path)) if 'coco/bbox_mAP_50' in r]
    assert [(r['iter'], r['coco/bbox_mAP_50']) for r in evals] == [(300, 0.09), (600, 0.15)]


def test_loss_smoothing_is_a_trailing_mean_and_plots_name_their_runs(tmp_path):
    assert smoothed([1., 2., 3., 4.], 2) == [1., 1.5, 2.5, 3.5]
    assert smoothed([4., 1., 7.], 1) == [4., 1., 7.]
    assert smoothed([3., 6., 9.], 5) == [3., 4.5, 6.]
    with pytest.raises(ValueError, match='window must be >= 1'):
        smoothed([1.], 0)
    with pytest.raises(ValueError, match='1 labels for 2 runs'):
        plot_runs(['a', 'b'], str(tmp_path / 'x.png'), labels=['a'])


def test_fashion_mnist_test_images_export_as_pngs(tmp_path):
    """prepare_fashion_mnist.py --export-test-images: the IDX pixels and labels, as PNGs."""
    from PIL import Image

    from lavit_mm.datasets.fashion_mnist import export_test_images
    root = tmp_path / 'fm'
    root.mkdir()
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    for split, n in (('train', 2), ('t10k', 3)):
        with open(root / f'{split}-images-idx3-ubyte', 'wb') as f:
            f.write(struct.pack('>IIII', 2051, n, 28, 28) + pixels[:n].tobytes())
        with open(root / f'{split}-labels-idx1-ubyte', 'wb') as f:
            f.write(struct.pack('>II', 2049, n) + bytes([7, 2, 5][:n]))
    paths = export_test_images(str(root), str(tmp_path / 'png'), 3)
    names = [p.rsplit('/', 1)[1] for p in paths]
    assert names == ['00000_class7.png', '00001_class2.png', '00002_class5.png']
    assert np.array_equal(np.asarray(Image.open(paths[2])), pixels[2])
    with pytest.raises(ValueError, match=r'count must be in \[1, 3\]'):
        export_test_images(str(root), str(tmp_path / 'png'), 4)
