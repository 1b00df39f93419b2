"""init_cfg=Pretrained: our checkpoints with a prefix, official and mmdet releases converted on
load (also from a URL), and clear errors for checkpoints of the wrong layout or arch, for a
checkpoint that is not a path, and for a file that is truncated, corrupt, empty or not a
checkpoint."""
import re

import pytest
import torch

from lavit_mm.models import PVT, LaViT, PVTv2, Swin
from lavit_mm.models.checkpoint import checkpoint_filter_fn, load_pretrained
from lavit_mm.models.convert import convert

from tests.helpers import narrow_arch, write_truncated

ARCH = narrow_arch(depths=[1, 2, 2, 1], num_va=[1, 1, 1, 1])


def trained_model():
    torch.manual_seed(0)
    model = LaViT(arch=dict(ARCH))
    model.init_weights()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def test_pretrained_with_prefix_loads_exact_weights(tmp_path):
    src = trained_model()
    ckpt = tmp_path / 'cls.pth'
    state = {'backbone.' + k: v for k, v in src.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(10, 64)
    torch.save({'meta': {}, 'state_dict': state}, ckpt)
    dst = LaViT(arch=dict(ARCH), init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                               prefix='backbone.'))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k


def test_report_lists_missing_and_unused_keys(tmp_path):
    src = trained_model().state_dict()
    dropped = 'stages.1.blocks.1.attn.theta.weight'
    state = {k: v for k, v in src.items() if k != dropped}
    state['extra.weight'] = torch.zeros(1)
    torch.save(state, tmp_path / 'w.pth')
    model = LaViT(arch=dict(ARCH))
    report = load_pretrained(model, str(tmp_path / 'w.pth'))
    assert report.missing == [dropped]
    assert report.unused == ['extra.weight']
    # the missing LA transform keeps its identity init
    w = model.stages[1].blocks[1].attn.theta.weight
    assert w.sum().item() == 2 and w[:, 0, 1, 1].tolist() == [1, 1]


def test_step_counters_of_every_auxiliary_loss_are_not_reported_missing(tmp_path):
    """A checkpoint without the DP and DRLoc step counters (trained with neither loss) loads
    into a model with both: the counters are training state, started at 0, not missing
    weights; everything else is reported."""
    no_dp = LaViT(arch=dict(ARCH), less_attention=dict(dp_loss=dict(weight=0.)))
    src = {k: v for k, v in no_dp.state_dict().items()
           if k != 'dp_step'}
    torch.save(src, tmp_path / 'w.pth')
    model = LaViT(arch=dict(ARCH), remedies=dict(drloc_weight=0.1))
    model.dp_step.fill_(5)
    model.drloc_step.fill_(5)
    report = load_pretrained(model, str(tmp_path / 'w.pth'))
    assert report.missing == [k for k in model.state_dict() if k.startswith('drloc.')]
    assert report.missing and report.unused == []
    assert int(model.dp_step) == 0 and int(model.drloc_step) == 0  # fresh counters
    model.drloc_step.fill_(5)
    # a strict load of weights without counters is no error either
    weights = {k: v for k, v in model.state_dict().items() if not k.endswith('_step')}
    model.load_state_dict(weights, strict=True)
    assert int(model.drloc_step) == 0


def test_wrong_prefix_names_the_prefixes_found(tmp_path):
    torch.save({'state_dict': {'model.layer.weight': torch.zeros(1)}}, tmp_path / 'w.pth')
    model = LaViT(arch=dict(ARCH), init_cfg=dict(type='Pretrained',
                                                 checkpoint=str(tmp_path / 'w.pth'),
                                                 prefix='backbone.'))
    with pytest.raises(ValueError, match=r"no key starting with 'backbone\.'.*\['model\.'\]"):
        model.init_weights()


def test_an_unknown_layout_is_refused_naming_the_file(tmp_path):
    torch.save({'encoder.conv1.weight': torch.zeros(64, 3, 4, 4),
                'encoder.fc.weight': torch.zeros(64, 64)}, tmp_path / 'other.pth')
    with pytest.raises(ValueError, match=r"other\.pth shares no key with LaViT.*layout "
                                         r"'unknown'.*pvtv2-official"):
        load_pretrained(LaViT(arch=dict(ARCH)), str(tmp_path / 'other.pth'))


# layout: (a random file in that layout, our backbone of the same widths)
def _release(layout):
    from tests.test_interop import (mmdet_pvt_tiny, mmdet_pvtv2, mmdet_swin_tiny,
                                    official_pvt_tiny_state, official_pvtv2_b0_state,
                                    official_swin_tiny_state, randomize)
    return {
        'pvt-official': lambda: (official_pvt_tiny_state(), PVT(arch='tiny')),
        'pvtv2-official': lambda: (official_pvtv2_b0_state(), PVTv2(arch='b0')),
        'swin-official': lambda: ({'model': official_swin_tiny_state()}, Swin(arch='tiny')),
        'mmdet-pvt': lambda: (randomize(mmdet_pvt_tiny()).state_dict(), PVT(arch='tiny')),
        'mmdet-pvtv2': lambda: (randomize(mmdet_pvtv2('b0')).state_dict(), PVTv2(arch='b0')),
        'mmdet-swin': lambda: (randomize(mmdet_swin_tiny()).state_dict(), Swin(arch='tiny')),
    }[layout]()


@pytest.mark.parametrize('layout', ['pvt-official', 'pvtv2-official', 'swin-official',
                                    'mmdet-pvt', 'mmdet-pvtv2', 'mmdet-swin'])
def test_official_and_mmdet_releases_convert_on_load(tmp_path, layout):
    """What mmdet's configs do with a release URL in init_cfg, with the file as released:
    after init_weights() every weight is the file's, converted; the report names the layout."""
    file_state, model = _release(layout)
    path = tmp_path / f'{layout}.pth'
    torch.save(file_state, path)
    converted = convert(file_state.get('model', file_state), layout)
    model.init_cfg = dict(type='Pretrained', checkpoint=str(path))
    model.init_weights()
    own = model.state_dict()
    # PVT v1 has no output norm, as mmdet's; the official file's classifier norm is unused
    lacks = {'stages.3.norm.weight', 'stages.3.norm.bias'} if layout == 'pvt-official' else set()
    assert set(converted) - set(own) == lacks
    for key in set(converted) - lacks:
        assert torch.equal(own[key], converted[key]), key
    report = load_pretrained(type(model)(arch=model.arch), str(path))
    assert report.layout == layout and set(report.unused) == lacks
    assert f"converted from the '{layout}' layout" in str(report)


def test_an_init_cfg_without_type_is_pretrained_as_in_mmdets_configs(tmp_path):
    from tests.test_interop import official_pvtv2_b0_state
    state = official_pvtv2_b0_state()
    torch.save(state, tmp_path / 'pvt_v2_b0.pth')
    model = PVTv2(arch='b0', init_cfg=dict(checkpoint=str(tmp_path / 'pvt_v2_b0.pth')))
    model.init_weights()
    for key, value in convert(state, 'pvtv2-official').items():
        assert torch.equal(model.state_dict()[key], value), key
    with pytest.raises(ValueError, match='init_cfg must be None'):
        PVTv2(arch='b0', init_cfg=dict(type='Kaiming', checkpoint='x.pth'))


def test_a_release_url_served_from_a_local_file_converts_on_load(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    from tests.test_interop import official_pvtv2_b0_state
    state = official_pvtv2_b0_state()
    (tmp_path / 'serve').mkdir()
    torch.save(state, tmp_path / 'serve' / 'pvt_v2_b0_local.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))  # the download cache
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path / 'serve'))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f'http://127.0.0.1:{server.server_port}/pvt_v2_b0_local.pth'
        model = PVTv2(arch='b0', init_cfg=dict(type='Pretrained', checkpoint=url))
        model.init_weights()
    finally:
        server.shutdown()
    for key, value in convert(state, 'pvtv2-official').items():
        assert torch.equal(model.state_dict()[key], value), key


def test_lavit_takes_a_pvt_release_on_load_and_lists_its_la_parts(tmp_path):
    """The transplant on load: VA layers whole, an LA layer its value projection; missing
    exactly the LA-only parts, unused exactly the LA layers' q/k projections."""
    from tests.test_interop import official_pvt_tiny_state
    torch.save(official_pvt_tiny_state(), tmp_path / 'pvt_tiny.pth')
    report = load_pretrained(LaViT(arch='pvt1-tiny'), str(tmp_path / 'pvt_tiny.pth'))
    assert report.layout == 'pvt-official'
    la_only = re.compile(r'\.attn\.(theta|psi)\.weight$|\.cross_stage\.|^stages\.[0-2]\.norm\.')
    assert report.missing and all(la_only.search(k) for k in report.missing)
    assert report.unused and all(re.search(r'\.attn\.(q|kv)\.', k) for k in report.unused)


def test_other_arch_is_refused_with_shapes(tmp_path):
    torch.save(LaViT(arch='tiny').state_dict(), tmp_path / 'tiny.pth')
    with pytest.raises(ValueError, match='shape mismatch'):
        load_pretrained(LaViT(arch=dict(ARCH)), str(tmp_path / 'tiny.pth'))


def test_filter_resizes_position_tables_and_is_pure():
    model = LaViT(arch=dict(ARCH))
    key = 'stages.0.pos_embed.pos_embed'
    state = {key: torch.randn(1, 28 * 28, 16)}  # trained at 112 px
    out = checkpoint_filter_fn(state, model)
    assert out[key].shape == (1, 56 * 56, 16)
    assert state[key].shape == (1, 28 * 28, 16)


def test_one_load_hook_adapts_a_state_dict_for_both_families():
    """load_state_dict (mmengine's load_from, resume, a user's own call) adapts as init_cfg
    does, in both families: a position table of another size resized as the checkpoint
    filter resizes it, a VA layer's fused projection giving an LA layer its value third."""
    from lavit_mm.models import LaViTPlain
    vit = dict(embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96)
    source = LaViTPlain(arch=vit, img_size=32, patch_size=4)  # 2 VA layers, an 8x8 table
    target = LaViTPlain(arch=vit, img_size=48, patch_size=4, less_attention=dict(layers='1va+1la'))
    pvt = LaViT(arch=dict(ARCH))
    pvt_state = pvt.state_dict()
    key = 'stages.0.pos_embed.pos_embed'
    pvt_state[key] = torch.randn(1, 28 * 28, 16)  # a table trained at 112 px
    for model, state, resized in ((target, source.state_dict(), 'pos_embed'),
                                  (pvt, pvt_state, key)):
        expected = checkpoint_filter_fn(state, model)[resized]
        assert expected.shape != state[resized].shape
        model.load_state_dict(state, strict=False)
        assert torch.equal(model.state_dict()[resized], expected)
    qkv = source.state_dict()['layers.1.attn.qkv.weight']
    assert torch.equal(target.state_dict()['layers.1.attn.v.weight'], qkv[96:])


def test_convert_weights_names_a_corrupt_file_and_what_it_expected(tmp_path):
    import os.path as osp
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    (tmp_path / 'corrupt.pth').write_bytes(b'PK\x03\x04 cut short')
    out = subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', 'mmdet-pvtv2',
                          str(tmp_path / 'corrupt.pth'), str(tmp_path / 'out.pth')],
                         capture_output=True, text=True, cwd=root)
    assert out.returncode != 0 and not (tmp_path / 'out.pth').exists()
    assert f'{tmp_path / "corrupt.pth"} is truncated' in out.stderr
    assert "expected a torch checkpoint in the 'mmdet-pvtv2' layout" in out.stderr


def test_lavit_on_pvtv2_widths_takes_the_pvtv2_release_and_lists_its_la_parts(tmp_path):
    """The pvtv2-bX presets: a PVT v2 release loads whole but for the LA layers' q/k, and
    what starts fresh is exactly Theta/Psi and the cross-stage maps."""
    from tests.test_interop import official_pvtv2_b0_state
    torch.save(official_pvtv2_b0_state(), tmp_path / 'pvt_v2_b0.pth')
    model = LaViT(arch='pvtv2-b0')
    report = load_pretrained(model, str(tmp_path / 'pvt_v2_b0.pth'))
    la = [f'stages.{i}.blocks.1.attn' for i in (1, 2, 3)]  # stage 1 all VA, then 1 VA + 1 LA
    assert report.layout == 'pvtv2-official'
    assert sorted(report.missing) == sorted(
        [f'{a}.{t}.weight' for a in la for t in ('theta', 'psi')]
        + [f'stages.{i}.cross_stage.{m}' for i in (1, 2, 3) for m in ('query_map', 'key_map')])
    assert sorted(report.unused) == sorted(f'{a}.{p}.{w}' for a in la for p in ('q', 'kv')
                                           for w in ('weight', 'bias'))


@pytest.mark.parametrize('b', ['b2', 'b5'])
def test_lavit_pvtv2_presets_have_pvtv2s_exact_shapes(b):
    pvtv2, lavit = PVTv2(arch=b).state_dict(), LaViT(arch=f'pvtv2-{b}').state_dict()
    la_qk = re.compile(r'\.attn\.(q|kv)\.')
    for key, value in pvtv2.items():
        if key in lavit:
            assert lavit[key].shape == value.shape, key
        else:
            assert la_qk.search(key), key


@pytest.mark.parametrize('checkpoint', [123, ['a.pth'], None])
def test_init_cfg_checkpoint_must_be_a_path(checkpoint):
    with pytest.raises((TypeError, ValueError), match='checkpoint'):
        LaViT(arch=narrow_arch(), init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    if checkpoint == 123:
        with pytest.raises(TypeError, match=r'file path or URL, got 123 \(int\)'):
            LaViT(arch=narrow_arch(), init_cfg=dict(type='Pretrained', checkpoint=123))


def test_truncated_or_corrupt_checkpoint_is_named(tmp_path):
    model = LaViT(arch='tiny')
    torch.save(model.state_dict(), tmp_path / 'ok.pth')
    write_truncated(tmp_path / 'ok.pth', tmp_path / 'cut.pth')
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
