"""From a release checkpoint to a detector, per family, as docs/guide.md ("Start from released
weights") tells users: a file in the official layout -> ``tools/convert_weights.py`` -> a
RetinaNet config whose backbone has ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

The official-layout files are random (tests/test_interop.py writes them with the official
key names and shapes). For each family: every weight the backbone shares with the file is the
file's (the VA layers whole; an LA layer its value projection), the rest is exactly the LA-only
or new parts; the detector's first losses equal those of the same detector given the weights by
hand; and a few training steps through mmengine's ``train_step`` move the loaded weights.
"""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from tests.test_interop import (official_pvt_tiny_state, official_pvtv2_b0_state,
                                official_swin_tiny_state)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo', 'retinanet_lavit_t_synthetic.py')
LA_ONLY = r'\.attn\.(theta|psi)\.weight$|\.cross_stage\.'

# family: (layout, official state, backbone, its output widths, the keys the file cannot have)
FAMILIES = {
    'pvt': ('pvt-official', official_pvt_tiny_state,
            dict(type='lavit_mm.PVT', arch='tiny'), [64, 128, 320, 512],
            r'^stages\.[0-2]\.norm\.'),  # v1 has one output norm, on stage 4
    'pvtv2': ('pvtv2-official', lambda: official_pvtv2_b0_state(),
              dict(type='lavit_mm.PVTv2', arch='b0'), [32, 64, 160, 256], r'^$'),
    'swin': ('swin-official', lambda: {'model': official_swin_tiny_state()},
             dict(type='lavit_mm.Swin', arch='tiny'), [96, 192, 384, 768],
             r'^stages\.[0-2]\.norm\.'),  # one final norm, on stage 4
    'lavit_from_pvt': ('pvt-official', official_pvt_tiny_state,
                       dict(type='lavit_mm.LaViT', arch='pvt1-tiny'), [64, 128, 320, 512],
                       r'^stages\.[0-2]\.norm\.|' + LA_ONLY),
    'lavit_window_from_swin': ('swin-official', lambda: {'model': official_swin_tiny_state()},
                               dict(type='lavit_mm.LaViT', arch='tiny', attention='window'),
                               [96, 192, 384, 768], r'^stages\.[0-2]\.norm\.|' + LA_ONLY),
}


def detector_config(tmp_path, backbone: dict, widths, checkpoint=None) -> Config:
    """The guide's few lines of config over the detection demo."""
    init = f"dict(type='Pretrained', checkpoint={checkpoint!r})" if checkpoint else 'None'
    path = tmp_path / f'retinanet_{"pretrained" if checkpoint else "by_hand"}.py'
    path.write_text(f"_base_ = {DEMO!r}\n"
                    f"model = dict(\n"
                    f"    backbone=dict(_delete_=True, **{backbone!r}, drop_path_rate=0.0,\n"
                    f"                  init_cfg={init}),\n"
                    f"    neck=dict(in_channels={widths!r}))\n")
    return Config.fromfile(str(path))


def by_hand(backbone, converted):
    """The file's weights put into ``backbone`` by hand: shared keys as they are, and an LA
    layer's value projection as the last third of qkv (windows) or half of kv (sra)."""
    own = backbone.state_dict()
    with torch.no_grad():
        for k, v in converted.items():
            if k in own:
                own[k].copy_(v)
            for fused, parts in (('.attn.kv.', 2), ('.attn.qkv.', 3)):
                v_key = k.replace(fused, '.attn.v.')
                if fused in k and k not in own and v_key in own:
                    own[v_key].copy_(v[(parts - 1) * v.shape[0] // parts:])


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_release_checkpoint_to_a_training_detector(family, tmp_path):
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules

    import lavit_mm.models.det  # noqa: F401  (lavit_mm.RetinaNet)
    register_all_modules()
    layout, official, backbone, widths, new_keys = FAMILIES[family]
    src, dst = tmp_path / 'release.pth', tmp_path / 'converted.pth'
    torch.save(official(), src)
    subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', layout, str(src),
                    str(dst)], check=True, capture_output=True, cwd=ROOT)
    converted = torch.load(dst)['state_dict']

    torch.manual_seed(0)
    loaded = MODELS.build(detector_config(tmp_path, backbone, widths, str(dst)).model)
    loaded.init_weights()
    torch.manual_seed(0)
    manual = MODELS.build(detector_config(tmp_path, backbone, widths).model)
    manual.init_weights()
    by_hand(manual.backbone, converted)

    state = loaded.backbone.state_dict()
    shared = [k for k in state if k in converted]
    assert shared and all(torch.equal(state[k], converted[k]) for k in shared)
    not_in_file = [k for k in state if k not in converted and not k.endswith('dp_step')
                   and not re.search(r'\.attn\.v\.', k)]
    assert all(re.search(new_keys, k) for k in not_in_file), not_in_file
    if 'lavit' in family:  # LA layers took the value projection, and nothing else is new
        assert any(re.search(LA_ONLY, k) for k in not_in_file)
        assert any(re.search(r'\.attn\.v\.', k) for k in state)
    for k, v in manual.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k

    packed = demo_mm_inputs(2, [[3, 128, 160]] * 2, num_classes=4)
    data = loaded.data_preprocessor(packed, True)
    loaded.train()
    manual.train()
    first = loaded.loss(data['inputs'], data['data_samples'])
    hand = manual.loss(data['inputs'], data['data_samples'])
    assert first.keys() == hand.keys()
    for k in first:
        torch.testing.assert_close(first[k], hand[k], rtol=0, atol=0, msg=k)

    before = {k: v.clone() for k, v in state.items()}
    wrapper = OptimWrapper(torch.optim.AdamW(loaded.parameters(), lr=1e-4))
    for _ in range(3):
        log = loaded.train_step(packed, wrapper)
        assert all(torch.isfinite(v) for v in log.values())
    after = loaded.backbone.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in shared)


def test_the_guides_config_over_a_shipped_detector_config_loads(tmp_path):
    """The config docs/guide.md ("Start from released weights") tells users to write, taken
    from the guide itself, parses over the shipped RetinaNet config."""
    guide = open(osp.join(ROOT, 'docs', 'guide.md')).read()
    snippet = re.search(r"cat > my_retinanet_pvt_t.py <<'CFG'\n(.*?)\nCFG", guide, re.S)[1]
    path = tmp_path / 'my_retinanet_pvt_t.py'
    path.write_text(snippet.replace("'configs/", repr(ROOT + '/configs/')[:-1]))
    backbone = Config.fromfile(str(path)).model.backbone
    assert backbone.type == 'lavit_mm.PVT' and backbone.arch == 'tiny'
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint='pvt_tiny.pth')


def test_the_shipped_lavit_pvtv2_b2_detector_starts_from_the_pvtv2_release(tmp_path):
    """configs/retinanet_lavit_pvtv2_b2.py with its release URL swapped for a local random
    file of PVT v2-b2 (mmdet's layout here; converted on load): every weight the file has is
    loaded, and the detector trains a step."""
    from mmdet.registry import MODELS
    from mmdet.testing import demo_mm_inputs
    from mmdet.utils import register_all_modules

    import lavit_mm.models.det  # noqa: F401
    from lavit_mm.models.convert import convert
    from tests.test_interop import mmdet_pvtv2, randomize
    register_all_modules()
    release = randomize(mmdet_pvtv2('b2')).state_dict()
    torch.save(release, tmp_path / 'pvt_v2_b2.pth')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retinanet_lavit_pvtv2_b2.py'))
    assert cfg.model.backbone.init_cfg.checkpoint.endswith('/pvt_v2_b2.pth')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'pvt_v2_b2.pth')
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    state = detector.backbone.state_dict()
    converted = convert(release, 'mmdet-pvtv2')
    shared = [k for k in converted if k in state]
    assert len(shared) > 0.9 * len(converted)
    assert all(torch.equal(state[k], converted[k]) for k in shared)
    assert all(re.search(r'\.attn\.(q|kv)\.', k) for k in set(converted) - set(state))
    packed = demo_mm_inputs(1, [[3, 96, 128]], num_classes=80)
    log = detector.train_step(packed, OptimWrapper(torch.optim.AdamW(detector.parameters())))
    assert {'loss_cls', 'loss_bbox', 'loss_dp'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
