"""Window attention (Swin) and LaViT on windows; head mixing; parameters DDP can train."""
import subprocess
import sys

import pytest
import torch

from lavit_mm.models import PVT, LaViT, Swin
from lavit_mm.models.checkpoint import checkpoint_filter_fn
from lavit_mm.models.layers import diagonality_preserving_loss
from lavit_mm.models.layers.window import shifted_window_mask

from tests.helpers import NARROW_ARCH

WIN_ARCH = NARROW_ARCH['window']


def build(**kw):
    torch.manual_seed(0)
    kw.setdefault('arch', dict(WIN_ARCH))
    model = LaViT(attention='window', **kw)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('size', [(224, 224), (250, 333), (40, 72)])
def test_window_lavit_shapes(size):
    outs = build()(torch.randn(2, 3, *size))
    h, w = -(-size[0] // 4), -(-size[1] // 4)
    for i, out in enumerate(outs):
        assert out.shape == (2, WIN_ARCH['embed_dims'][i], h, w)
        h, w = -(-h // 2), -(-w // 2)


def test_shift_alternates_on_va_layers_and_mask_separates_regions():
    model = build(arch=dict(WIN_ARCH, num_va=[2, 3, 3, 2]))
    shifts = [[b.attn.shift for b in s.blocks] for s in model.stages]
    assert shifts == [[0, 3], [0, 3, 0], [0, 3, 0], [0, 3]]
    mask = shifted_window_mask(14, 14, 7, 3, 'cpu')  # 4 windows
    assert mask.shape == (4, 1, 49, 49)
    assert (mask[0] == 0).all()  # the top-left window holds one region only
    assert (mask[3] == -100).any()


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_identity_head_mix_preserves_attention(attention):
    kw = dict(arch=dict(WIN_ARCH)) if attention == 'window' else dict(arch='tiny')
    torch.manual_seed(0)
    plain = LaViT(attention=attention, **kw).eval()
    mixed = LaViT(attention=attention, **kw, less_attention=dict(head_mix=True)).eval()
    # the cross-stage residual reads the (head-mixed, hence wider) last LA factors of a stage:
    # its maps change shape with the head mix; both start with a zero query map
    state = {k: v for k, v in plain.state_dict().items() if 'cross_stage' not in k}
    missing = mixed.load_state_dict(state, strict=False).missing_keys
    assert missing and all(k.endswith('head_mix') or 'cross_stage' in k for k in missing)
    assert any(k.endswith('head_mix') for k in missing)
    x = torch.randn(1, 3, 96, 64)
    with torch.no_grad():
        for a, b in zip(plain(x), mixed(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_window_dp_loss_and_checkpointing():
    x = torch.randn(2, 3, 64, 96)
    grads = []
    for with_cp in (False, True):
        model = build(with_cp=with_cp, drop_path_rate=0.,
                      less_attention=dict(dp_loss=dict(weight=1.0))).train()
        outs = model(x)
        dp = model.aux_losses()['loss_dp']
        # a fresh LA layer reproduces the attention it inherits: the loss is the DP loss of
        # each LA layer's attention, every window, averaged over the layers
        with torch.no_grad():
            states = [s for stage, per in zip(model.stages, model.attention_states(x))
                      for b, s in zip(stage.blocks, per) if b.is_less_attention]
        expected = sum(diagonality_preserving_loss(s.logits().softmax(-1)) for s in states)
        assert dp.item() == pytest.approx(expected.item() / len(states), rel=1e-4)
        (sum(o.square().mean() for o in outs) + dp).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    for n in grads[0]:
        torch.testing.assert_close(grads[0][n], grads[1][n], rtol=1e-4, atol=1e-6, msg=n)


@pytest.mark.parametrize('make', [
    lambda: Swin(arch='tiny', out_indices=(1, 2, 3)),
    lambda: LaViT(arch='tiny', attention='window', out_indices=(1, 2, 3),
                  less_attention=dict(dp_loss=dict(weight=0.1))),
    lambda: LaViT(arch='tiny', less_attention=dict(dp_loss=dict(weight=0.1))),
    lambda: PVT(arch='tiny'),
], ids=['swin', 'lavit-window', 'lavit-sra', 'pvt'])
def test_every_parameter_gets_a_gradient(make):
    """DDP (find_unused_parameters=False) needs every trainable parameter in the graph."""
    model = make().train()
    outs = model(torch.randn(1, 3, 64, 64))
    loss = sum(o.mean() for o in outs) + sum(model.aux_losses().values())
    loss.backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused


def test_swin_builds_output_norms_for_returned_stages_only():
    model = Swin(arch='tiny', out_indices=(1, 2, 3))
    assert isinstance(model.stages[0].norm, torch.nn.Identity)
    assert all(isinstance(model.stages[i].norm, torch.nn.LayerNorm) for i in (1, 2, 3))


def test_cross_stage_residual_is_refused_on_windows():
    with pytest.raises(ValueError, match=r"attention.cross_stage_residual is not an option "
                                         r"here; attention takes \['patch_padding', "
                                         r"'window_size'\] \(attention='sra' takes it\)"):
        LaViT(arch='tiny', attention=dict(type='window', cross_stage_residual=True))


def test_relative_position_table_resized_for_another_window():
    w7 = Swin(arch='tiny')
    w12 = Swin(arch='tiny', window_size=12)
    key = 'stages.0.blocks.0.attn.relative_position_bias_table'
    out = checkpoint_filter_fn(w7.state_dict(), w12)
    assert out[key].shape == (23 * 23, 3) and w7.state_dict()[key].shape == (13 * 13, 3)


def test_convert_weights_cli_output_loads_with_pretrained(tmp_path):
    from tests.test_interop import official_pvt_tiny_state
    src, dst = tmp_path / 'pvt_tiny.pth', tmp_path / 'ours.pth'
    torch.save(official_pvt_tiny_state(), src)
    run = subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', 'pvt-official',
                          str(src), str(dst)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert 'dropped' in run.stdout
    model = PVT(arch='tiny', init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    torch.testing.assert_close(model.stages[0].blocks[0].attn.q.weight,
                               official_pvt_tiny_state()['block1.0.attn.q.weight'])
    bad = subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', 'swin-official',
                          str(src), str(tmp_path / 'x.pth')], capture_output=True, text=True)
    assert bad.returncode != 0 and "--from pvt-official" in bad.stderr
