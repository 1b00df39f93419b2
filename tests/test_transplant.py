"""A whole trained model into another config's model of the same widths
(``tools/transplant_checkpoint.py``): a PVTv2-b1 classifier into the LaViT classifier of its
widths, with the exact load report, and a checkpoint that tools/test.py can score."""
import os.path as osp
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
