"""A whole trained model into another config's model of the same widths
(``tools/transplant_checkpoint.py``): a PVTv2-b1 classifier into the LaViT classifier of its
widths, with the exact load report, and a checkpoint that tools/test.py can score."""
import os.path as osp
import pickle
import re
import subprocess
import sys

import torch

from lavit_mm.engine.config import build_model, load_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_a_pvtv2_classifier_into_the_lavit_of_its_widths(tmp_path):
    pvtv2_cfg = load_config(osp.join(ROOT, 'configs/small_data/pvtv2_b1_fashion_mnist.py'))
    torch.manual_seed(1)
    pvtv2 = build_model(pvtv2_cfg)
    pvtv2.init_weights()
    src, dst = tmp_path / 'pvtv2.pth', tmp_path / 'lavit.pth'
    torch.save({'meta': {}, 'state_dict': pvtv2.state_dict()}, src)
    out = subprocess.run([sys.executable, 'tools/transplant_checkpoint.py',
                          'configs/small_data/lavit_pvtv2_b1_fashion_mnist.py', str(src),
                          str(dst), '--safe-load'], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    la = [f'backbone.stages.{i}.blocks.1.attn' for i in (1, 2, 3)]
    missing = sorted([f'{a}.{t}.weight' for a in la for t in ('theta', 'psi')]
                     + [f'backbone.stages.{i}.cross_stage.{m}' for i in (1, 2, 3)
                        for m in ('query_map', 'key_map')])
    assert 'missing 12: ' in out and all(k in out for k in missing)
    assert 'unused 12: ' in out and all(f'{a}.{p}.{w}' in out for a in la for p in ('q', 'kv')
                                        for w in ('weight', 'bias'))
    lavit = build_model(load_config(osp.join(
        ROOT, 'configs/small_data/lavit_pvtv2_b1_fashion_mnist.py')))
    lavit.load_state_dict(torch.load(dst)['state_dict'])  # strict: every key of the model
    theirs = pvtv2.state_dict()
    for k, v in lavit.state_dict().items():
        if k in theirs and k.rsplit('.', 2)[-2] not in ('q', 'kv'):
            assert torch.equal(v, theirs[k]), k
    assert torch.equal(lavit.backbone.stages[2].blocks[1].attn.v.weight,
                       theirs['backbone.stages.2.blocks.1.attn.kv.weight'][320:])
    x = torch.randn(2, 1, 32, 32)
    lavit.eval()
    pvtv2.eval()
    with torch.no_grad():  # stage 1 has no LA layer: the same map
        a, b = lavit.backbone.stages[0](x), pvtv2.backbone.stages[0](x)
    torch.testing.assert_close(a[1], b[1])


def test_the_same_model_through_init_cfg_on_load_scored_without_a_checkpoint(tmp_path):
    """configs/small_data/lavit_pvtv2_b1_fashion_mnist_onload.py: the trained PVTv2-b1 file in
    init_cfg gives the transplant tool's weights bitwise (built under its seed), and
    tools/test.py with no checkpoint scores that model: the same top-1 as the transplanted
    checkpoint (what the file lacks starts as a no-op: identity Theta/Psi, a zero cross-stage
    mix, so the runner's own seed does not change the score)."""
    from lavit_mm.datasets.fashion_mnist import prepare_fashion_mnist
    from lavit_mm.rng import seeded
    from tests.test_small_data import write_fashion_mnist
    pvtv2 = build_model(load_config(osp.join(ROOT, 'configs/small_data/pvtv2_b1_fashion_mnist.py')))
    with seeded(1):
        pvtv2.init_weights()
    src, dst = tmp_path / 'pvtv2.pth', tmp_path / 'lavit.pth'
    torch.save({'meta': {}, 'state_dict': pvtv2.state_dict()}, src)
    subprocess.run([sys.executable, 'tools/transplant_checkpoint.py',
                    'configs/small_data/lavit_pvtv2_b1_fashion_mnist.py', str(src), str(dst),
                    '--safe-load'], check=True, capture_output=True, cwd=ROOT)
    onload = 'configs/small_data/lavit_pvtv2_b1_fashion_mnist_onload.py'
    options = [f'model.backbone.init_cfg.checkpoint={src}',
               f'model.head.init_cfg.checkpoint={src}']
    with seeded(0):  # built and initialised as the transplant tool does, with its seed
        model = build_model(load_config(osp.join(ROOT, onload),
                                        dict(o.split('=') for o in options)))
        model.init_weights()
    transplanted = torch.load(dst)['state_dict']
    assert model.state_dict().keys() == transplanted.keys()
    for k, v in model.state_dict().items():
        assert torch.equal(v, transplanted[k]), k

    write_fashion_mnist(str(tmp_path / 'idx'), num_train=12, num_test=24)
    root = prepare_fashion_mnist(str(tmp_path / 'fashion-mnist'), [str(tmp_path / 'idx')])
    data = [f'test_dataloader.dataset.data_root={root}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    tops, scores = [], []
    for command in ([onload, '--cfg-options', *options, *data],
                    ['configs/small_data/lavit_pvtv2_b1_fashion_mnist.py', str(dst),
                     '--cfg-options', *data]):
        raw = tmp_path / f'raw{len(tops)}.pkl'
        out = subprocess.run([sys.executable, 'tools/test.py', *command, '--out', str(raw),
                              '--work-dir', str(tmp_path / f'w{len(tops)}')],
                             capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr[-3000:]
        tops.append(re.findall(r'accuracy/top1: ([\d.]+)', out.stdout + out.stderr)[-1])
        with open(raw, 'rb') as f:
            scores.append(torch.stack([p['pred_score'] for p in pickle.load(f)]))
    assert tops[0] == tops[1]
    assert scores[0].shape == (24, 10) and torch.equal(scores[0], scores[1])


def test_testing_a_model_that_loads_nothing_is_refused(tmp_path):
    out = subprocess.run([sys.executable, 'tools/test.py',
                          'configs/small_data/lavit_pvtv2_b1_fashion_mnist.py'],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode != 0
    assert 'no checkpoint given, and no init_cfg in the model config loads weights' in out.stderr
