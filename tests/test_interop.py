"""Faithfulness to mmdet's PVT v1, PVT v2 and Swin, and loading official/mmdet checkpoint layouts.

mmdet's model gets random weights, ours loads them through our converter, and the outputs of
every stage must agree to 1e-4 (max abs) at 224x224 and at a non-square, non-divisible size.
For the official layouts, a random checkpoint is written in the official key layout (key
names and shapes from the official code) and loaded by mmdet's own converter and by ours.
"""
import pytest
import torch

from lavit_mm.models import PVT, LaViT, PVTv2, Swin
from lavit_mm.models.checkpoint import load_pretrained
from lavit_mm.models.convert import convert, detect_layout

SIZES = [(224, 224), (250, 333)]


def randomize(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    model.eval()  # (mmdet's SwinTransformer.train returns None)
    return model


def max_diffs(a_model, b_model, size):
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return [(a - b).abs().max().item() for a, b in zip(a_model(x), b_model(x))]


def mmdet_pvt_tiny():
    from mmdet.models.backbones import PyramidVisionTransformer
    return PyramidVisionTransformer(num_layers=[2, 2, 2, 2], drop_path_rate=0.)


def mmdet_pvtv2(arch):
    from mmdet.models.backbones import PyramidVisionTransformerV2
    width, depths = dict(b0=(32, [2, 2, 2, 2]), b2=(64, [3, 4, 6, 3]))[arch]
    return PyramidVisionTransformerV2(embed_dims=width, num_layers=depths, drop_path_rate=0.)


def mmdet_swin_tiny(**kw):
    from mmdet.models.backbones import SwinTransformer
    return SwinTransformer(drop_path_rate=0., **kw)


REFERENCES = {  # ours, mmdet's, the converter between them
    'PVT-T': (lambda: PVT(arch='tiny', drop_path_rate=0.), mmdet_pvt_tiny, 'mmdet-pvt'),
    'Swin-T': (lambda: Swin(arch='tiny', drop_path_rate=0.), mmdet_swin_tiny, 'mmdet-swin'),
}


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('name', sorted(REFERENCES))
def test_plain_backbones_reproduce_mmdet(name, size):
    make_ours, make_ref, layout = REFERENCES[name]
    ref = randomize(make_ref())
    ours = make_ours().eval()
    ours.load_state_dict(convert(ref.state_dict(), layout), strict=True)
    diffs = max_diffs(ref, ours, size)
    print(f'{name} vs mmdet {type(ref).__name__} at {size}: max abs diff per stage {diffs}')
    assert len(diffs) == 4 and max(diffs) < 1e-4


@pytest.mark.parametrize('size', [(224, 224), (31, 31), (112, 137)])
@pytest.mark.parametrize('arch', ['b0', 'b2'])
def test_pvtv2_reproduces_mmdet(arch, size):
    """Random mmdet weights through the converter CLI's function, at sizes that are not
    multiples of the strides (the overlapping embedding's ceil sizes, a 1x1 last stage)."""
    ref = randomize(mmdet_pvtv2(arch))
    ours = PVTv2(arch=arch, drop_path_rate=0.).eval()
    ours.load_state_dict(convert(ref.state_dict(), 'mmdet-pvtv2'), strict=True)
    diffs = max_diffs(ref, ours, size)
    print(f'PVTv2-{arch} vs mmdet at {size}: max abs diff per stage {diffs}')
    assert len(diffs) == 4 and max(diffs) < 1e-4


def official_pvt_tiny_state(seed=0):
    """A random PVT-Tiny checkpoint in the official (whai362/PVT v1) key layout."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) * 0.05  # noqa: E731
    dims, srs, mlp, depths = [64, 128, 320, 512], [8, 4, 2, 1], [8, 8, 4, 4], [2, 2, 2, 2]
    state, c_in = {}, 3
    for s in range(4):
        c, p, n = dims[s], 4 if s == 0 else 2, 56 // 2 ** s
        state[f'patch_embed{s + 1}.proj.weight'] = r(c, c_in, p, p)
        state[f'patch_embed{s + 1}.proj.bias'] = r(c)
        state[f'patch_embed{s + 1}.norm.weight'] = 1 + r(c)
        state[f'patch_embed{s + 1}.norm.bias'] = r(c)
        state[f'pos_embed{s + 1}'] = r(1, n * n + (1 if s == 3 else 0), c)  # + cls token
        for j in range(depths[s]):
            b = f'block{s + 1}.{j}.'
            state.update({b + 'norm1.weight': 1 + r(c), b + 'norm1.bias': r(c),
                          b + 'attn.q.weight': r(c, c), b + 'attn.q.bias': r(c),
                          b + 'attn.kv.weight': r(2 * c, c), b + 'attn.kv.bias': r(2 * c),
                          b + 'attn.proj.weight': r(c, c), b + 'attn.proj.bias': r(c),
                          b + 'norm2.weight': 1 + r(c), b + 'norm2.bias': r(c),
                          b + 'mlp.fc1.weight': r(mlp[s] * c, c),
                          b + 'mlp.fc1.bias': r(mlp[s] * c),
                          b + 'mlp.fc2.weight': r(c, mlp[s] * c), b + 'mlp.fc2.bias': r(c)})
            if srs[s] > 1:
                state.update({b + 'attn.sr.weight': r(c, c, srs[s], srs[s]),
                              b + 'attn.sr.bias': r(c), b + 'attn.norm.weight': 1 + r(c),
                              b + 'attn.norm.bias': r(c)})
        c_in = c
    state.update({'norm.weight': 1 + r(512), 'norm.bias': r(512), 'cls_token': r(1, 1, 512),
                  'head.weight': r(1000, 512), 'head.bias': r(1000)})
    return state


def official_pvtv2_b0_state(seed=0):
    """A random PVTv2-b0 checkpoint in the official (whai362/PVT v2) key layout."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) * 0.05  # noqa: E731
    dims, srs, mlp = [32, 64, 160, 256], [8, 4, 2, 1], [8, 8, 4, 4]
    state, c_in = {}, 3
    for s in range(4):
        c, k, h = dims[s], 7 if s == 0 else 3, dims[s] * mlp[s]
        state[f'patch_embed{s + 1}.proj.weight'] = r(c, c_in, k, k)
        state[f'patch_embed{s + 1}.proj.bias'] = r(c)
        state[f'patch_embed{s + 1}.norm.weight'] = 1 + r(c)
        state[f'patch_embed{s + 1}.norm.bias'] = r(c)
        for j in range(2):
            b = f'block{s + 1}.{j}.'
            state.update({b + 'norm1.weight': 1 + r(c), b + 'norm1.bias': r(c),
                          b + 'attn.q.weight': r(c, c), b + 'attn.q.bias': r(c),
                          b + 'attn.kv.weight': r(2 * c, c), b + 'attn.kv.bias': r(2 * c),
                          b + 'attn.proj.weight': r(c, c), b + 'attn.proj.bias': r(c),
                          b + 'norm2.weight': 1 + r(c), b + 'norm2.bias': r(c),
                          b + 'mlp.fc1.weight': r(h, c), b + 'mlp.fc1.bias': r(h),
                          b + 'mlp.dwconv.dwconv.weight': r(h, 1, 3, 3),
                          b + 'mlp.dwconv.dwconv.bias': r(h),
                          b + 'mlp.fc2.weight': r(c, h), b + 'mlp.fc2.bias': r(c)})
            if srs[s] > 1:
                state.update({b + 'attn.sr.weight': r(c, c, srs[s], srs[s]),
                              b + 'attn.sr.bias': r(c), b + 'attn.norm.weight': 1 + r(c),
                              b + 'attn.norm.bias': r(c)})
        state[f'norm{s + 1}.weight'] = 1 + r(c)
        state[f'norm{s + 1}.bias'] = r(c)
        c_in = c
    state.update({'head.weight': r(1000, 256), 'head.bias': r(1000)})
    return state


def official_swin_tiny_state(seed=0):
    """A random Swin-T checkpoint in the official (microsoft/Swin-Transformer) key layout."""
    from lavit_mm.models.layers.window import relative_position_index
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) * 0.05  # noqa: E731
    dims, heads, depths = [96, 192, 384, 768], [3, 6, 12, 24], [2, 2, 6, 2]
    state = {'patch_embed.proj.weight': r(96, 3, 4, 4), 'patch_embed.proj.bias': r(96),
             'patch_embed.norm.weight': 1 + r(96), 'patch_embed.norm.bias': r(96)}
    for i in range(4):
        c = dims[i]
        for j in range(depths[i]):
            b = f'layers.{i}.blocks.{j}.'
            state.update({b + 'norm1.weight': 1 + r(c), b + 'norm1.bias': r(c),
                          b + 'attn.relative_position_bias_table': r(169, heads[i]),
                          b + 'attn.relative_position_index': relative_position_index(7),
                          b + 'attn.qkv.weight': r(3 * c, c), b + 'attn.qkv.bias': r(3 * c),
                          b + 'attn.proj.weight': r(c, c), b + 'attn.proj.bias': r(c),
                          b + 'norm2.weight': 1 + r(c), b + 'norm2.bias': r(c),
                          b + 'mlp.fc1.weight': r(4 * c, c), b + 'mlp.fc1.bias': r(4 * c),
                          b + 'mlp.fc2.weight': r(c, 4 * c), b + 'mlp.fc2.bias': r(c)})
        if i < 3:
            state.update({f'layers.{i}.downsample.norm.weight': 1 + r(4 * c),
                          f'layers.{i}.downsample.norm.bias': r(4 * c),
                          f'layers.{i}.downsample.reduction.weight': r(2 * c, 4 * c)})
    state.update({'norm.weight': 1 + r(768), 'norm.bias': r(768), 'head.weight': r(1000, 768),
                  'head.bias': r(1000)})
    return state


@pytest.mark.parametrize('size', SIZES)
def test_official_pvt_checkpoint_round_trip(tmp_path, size):
    path = tmp_path / 'pvt_tiny.pth'
    torch.save(official_pvt_tiny_state(), path)
    ref = mmdet_pvt_tiny()
    from mmengine.config import ConfigDict
    ref.init_cfg = ConfigDict(type='Pretrained', checkpoint=str(path))  # mmdet's pvt_convert
    ref.init_weights()
    ours = PVT(arch='tiny', drop_path_rate=0.)
    ours.load_state_dict(convert(torch.load(path), 'pvt-official'), strict=False)
    ref.eval()
    diffs = max_diffs(ref, ours.eval(), size)
    print(f'official PVT-T checkpoint, mmdet loader vs ours at {size}: {diffs}')
    assert max(diffs) < 1e-4


@pytest.mark.parametrize('size', SIZES)
def test_official_swin_checkpoint_round_trip(tmp_path, size):
    path = tmp_path / 'swin_tiny.pth'
    torch.save({'model': official_swin_tiny_state()}, path)
    from mmengine.config import ConfigDict
    ref = mmdet_swin_tiny(convert_weights=True,
                          init_cfg=ConfigDict(type='Pretrained', checkpoint=str(path)))
    ref.init_weights()  # mmdet's swin_converter
    ours = Swin(arch='tiny', drop_path_rate=0.)
    official = torch.load(path)['model']
    ours.load_state_dict(convert(official, 'swin-official'), strict=False)
    ref.eval()
    diffs = max_diffs(ref, ours.eval(), size)
    print(f'official Swin-T checkpoint, mmdet loader vs ours at {size}: {diffs}')
    assert max(diffs[:3]) < 1e-4
    # The official final norm acts on the last stage's output: ours loads it there, mmdet's
    # swin_converter drops it (its norm3 keeps the init). With mmdet's choice, stage 4 agrees.
    torch.testing.assert_close(ours.stages[3].norm.weight, official['norm.weight'])
    with torch.no_grad():
        ours.stages[3].norm.weight.fill_(1.)
        ours.stages[3].norm.bias.zero_()
    assert max_diffs(ref, ours, size)[3] < 1e-4


@pytest.mark.parametrize('size', [(224, 224), (112, 137)])
def test_official_pvtv2_checkpoint_round_trip(tmp_path, size):
    """The same official-layout file through mmdet's pvt_convert and through our CLI."""
    import subprocess
    import sys
    src, dst = tmp_path / 'pvt_v2_b0.pth', tmp_path / 'pvt_v2_b0_ours.pth'
    torch.save(official_pvtv2_b0_state(), src)
    ref = mmdet_pvtv2('b0')
    from mmengine.config import ConfigDict
    ref.init_cfg = ConfigDict(type='Pretrained', checkpoint=str(src))
    ref.init_weights()
    subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', 'pvtv2-official',
                    str(src), str(dst)], check=True)
    ours = PVTv2(arch='b0', drop_path_rate=0.)
    report = load_pretrained(ours, str(dst))
    assert not report.missing and not report.unused
    diffs = max_diffs(ref.eval(), ours.eval(), size)
    print(f'official PVTv2-b0 checkpoint, mmdet loader vs ours at {size}: {diffs}')
    assert max(diffs) < 1e-4


def test_lavit_loads_converted_pvt_and_reports_exact_keys(tmp_path):
    path = tmp_path / 'pvt_tiny_ours.pth'
    torch.save({'state_dict': convert(official_pvt_tiny_state(), 'pvt-official')}, path)
    model = LaViT(arch='pvt1-tiny')
    report = load_pretrained(model, str(path))
    la = [f'stages.{i}.blocks.{j}' for i, s in enumerate(model.stages)
          for j, b in enumerate(s.blocks) if b.is_less_attention]
    assert la == ['stages.1.blocks.1', 'stages.2.blocks.1', 'stages.3.blocks.1']
    expected_missing = {f'{b}.attn.{t}.weight' for b in la for t in ('theta', 'psi')}
    expected_missing |= {f'stages.{i}.cross_stage.{p}' for i in (1, 2, 3)
                         for p in ('query_map', 'key_map')}
    expected_missing |= {f'stages.{i}.norm.{p}' for i in (0, 1, 2) for p in ('weight', 'bias')}
    assert set(report.missing) == expected_missing
    assert set(report.unused) == {f'{b}.attn.{t}.{p}' for b in la for t in ('q', 'kv')
                                  for p in ('weight', 'bias')}
    # the LA value projection is the second half of the PVT kv projection
    src = official_pvt_tiny_state()
    torch.testing.assert_close(model.stages[2].blocks[1].attn.v.weight,
                               src['block3.1.attn.kv.weight'][320:])
    # LA-only parameters keep their identity init: the LA layer reuses the VA attention
    theta = model.stages[1].blocks[1].attn.theta.weight
    assert theta[:, 0, 1, 1].tolist() == [1, 1] and theta.abs().sum().item() == 2


def test_lavit_loads_official_pvtv2_weights_end_to_end(tmp_path):
    """Official-layout PVTv2-b0 file -> the converter CLI -> a LaViT of b0's widths with LA
    layers: every VA weight loads, LA layers keep v (the second half of kv) and report q/k
    unused, and their Theta/Psi and the cross-stage maps keep their identity/zero init."""
    import subprocess
    import sys
    from lavit_mm.models.layers.kind import with_less_attention
    src, dst = tmp_path / 'pvt_v2_b0.pth', tmp_path / 'pvt_v2_b0_ours.pth'
    state = official_pvtv2_b0_state()
    torch.save(state, src)
    subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', 'pvtv2-official',
                    str(src), str(dst)], check=True)
    model = LaViT(arch=with_less_attention(PVTv2.arch_zoo['b0']))
    report = load_pretrained(model, str(dst))
    la = [f'stages.{i}.blocks.{j}' for i, s in enumerate(model.stages)
          for j, b in enumerate(s.blocks) if b.is_less_attention]
    assert la == ['stages.1.blocks.1', 'stages.2.blocks.1', 'stages.3.blocks.1']
    assert set(report.missing) == {f'{b}.attn.{t}.weight' for b in la for t in (
        'theta', 'psi')} | {f'stages.{i}.cross_stage.{p}' for i in (1, 2, 3)
                            for p in ('query_map', 'key_map')}
    assert set(report.unused) == {f'{b}.attn.{t}.{p}' for b in la for t in ('q', 'kv')
                                  for p in ('weight', 'bias')}
    torch.testing.assert_close(model.stages[3].blocks[1].attn.v.weight,
                               state['block4.1.attn.kv.weight'][256:])
    torch.testing.assert_close(model.stages[0].blocks[0].mlp.dwconv.weight,
                               state['block1.0.mlp.dwconv.dwconv.weight'])
    # with the LA layers reusing the VA attention and a zero residual, the LaViT is the PVTv2
    # except where an LA layer's attention differs from the layer before it: stage 1 (all VA)
    # is exactly the PVTv2's
    pvtv2 = PVTv2(arch='b0', drop_path_rate=0.)
    load_pretrained(pvtv2, str(dst))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x)[0], pvtv2.eval()(x)[0])


def test_lavit_window_loads_converted_swin(tmp_path):
    path = tmp_path / 'swin_tiny_ours.pth'
    torch.save(convert(official_swin_tiny_state(), 'swin-official'), path)
    model = LaViT(arch='tiny', attention='window')
    report = load_pretrained(model, str(path))
    la = [f'stages.{i}.blocks.{j}' for i, s in enumerate(model.stages)
          for j, b in enumerate(s.blocks) if b.is_less_attention]
    # official Swin has one final norm (-> stage 4's output norm); stages 1-3 norms are new
    assert set(report.missing) == {f'{b}.attn.{t}.weight' for b in la for t in (
        'theta', 'psi')} | {f'stages.{i}.norm.{p}' for i in (0, 1, 2) for p in ('weight', 'bias')}
    assert set(report.unused) == {f'{b}.attn.{k}' for b in la for k in (
        'qkv.weight', 'qkv.bias', 'relative_position_bias_table')}


def test_wrong_layout_is_named():
    with pytest.raises(ValueError, match="not in the 'mmdet-swin' layout.*'pvt-official'.*"
                       "--from pvt-official"):
        convert(official_pvt_tiny_state(), 'mmdet-swin')
    assert detect_layout(official_swin_tiny_state()) == 'swin-official'
    assert detect_layout(mmdet_pvt_tiny().state_dict()) == 'mmdet-pvt'
    assert detect_layout(official_pvtv2_b0_state()) == 'pvtv2-official'
    assert detect_layout(mmdet_pvtv2('b0').state_dict()) == 'mmdet-pvtv2'
    with pytest.raises(ValueError, match="--from pvtv2-official"):
        convert(official_pvtv2_b0_state(), 'pvt-official')
    with pytest.raises(ValueError, match="--from mmdet-pvt$"):
        convert(mmdet_pvt_tiny().state_dict(), 'mmdet-pvtv2')
    assert detect_layout(PVT(arch='tiny').state_dict()) == 'lavit_mm'
    with pytest.raises(ValueError, match='unknown layout'):
        convert({}, 'timm')
