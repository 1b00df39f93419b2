"""The small-data remedies as backbone options: DeepViT re-attention, LSA, SPT, DRLoc and
CoAtNet's convolution stages. Each against an independent computation or a hand-made case,
the identity cases that reproduce the plain model, gradients into the new parameters, and the
refusals."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from lavit_mm.models import PVT, LaViT, Swin
from lavit_mm.models.layers import (DenseRelativeLocalization, LayerArgs, LayerOptions, MBConv,
                                    ReAttention, SRAttention, WindowAttention)
from lavit_mm.models.layers.embed import PatchEmbed, ShiftedPatchProjection
from lavit_mm.models.layers.locality import OWN_KEY_LOGIT
from lavit_mm.models.layers.sra import own_cell_blocked
from tests.helpers import build_narrow, narrow_arch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _copy_shared(src, dst):
    """dst gets src's weights; the parameters only dst has keep their initial values."""
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=False)
    assert not unexpected
    return missing


# ---------------------------------------------------------------- re-attention
@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_fresh_reattention_in_eval_is_the_plain_model(attention):
    """Theta = I and a BatchNorm with running mean 0 / variance 1: the plain attention, up to
    the norm's eps (1e-5)."""
    plain = build_narrow(attention=attention)
    re = build_narrow(attention=attention, remedies=dict(reattention=True))
    missing = _copy_shared(plain, re)
    assert missing and all('reattention' in k for k in missing)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(plain(x), re(x)):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)
            assert not torch.equal(a, b)  # the explicit path and the eps: not the same bits


def test_reattention_layer_equals_explicit_computation():
    """Training mode (batch statistics), a random head mix: softmax, mix, BatchNorm across
    heads, then the values, computed here without the layer's code."""
    torch.manual_seed(0)
    args = LayerArgs(dims=24, num_heads=3, options=LayerOptions(reattention=True))
    layer = SRAttention(args, sr_ratio=2).train()
    with torch.no_grad():
        layer.reattention.weight.copy_(torch.randn(3, 3))
    x, hw = torch.randn(2, 36, 24), (6, 6)
    out, _ = layer(x, hw)

    q = layer.q(x).view(2, 36, 3, 8).transpose(1, 2) * 8 ** -0.5
    xr = layer.reduce.norm(layer.reduce.sr(x.transpose(1, 2).reshape(2, 24, 6, 6))
                           .flatten(2).transpose(1, 2))
    k, v = (t.view(2, 9, 3, 8).transpose(1, 2) for t in layer.kv(xr).chunk(2, -1))
    p = (q @ k.transpose(-2, -1)).softmax(-1)  # (2, 3, 36, 9)
    mixed = torch.einsum('gh,bhnk->bgnk', layer.reattention.weight, p)
    mean = mixed.mean((0, 2, 3), keepdim=True)
    var = mixed.var((0, 2, 3), unbiased=False, keepdim=True)
    normed = (mixed - mean) / torch.sqrt(var + 1e-5)
    expected = layer.proj((normed @ v).transpose(1, 2).reshape(2, 36, 24))
    assert torch.allclose(out, expected, atol=1e-5)
    out.square().sum().backward()
    assert layer.reattention.weight.grad.abs().sum() > 0
    assert layer.reattention.norm.weight.grad.abs().sum() > 0


def test_reattention_zeroes_masked_entries_after_its_norm():
    probs = torch.rand(2, 2, 4, 4).softmax(-1)
    blocked = torch.eye(4, dtype=torch.bool)
    out = ReAttention(2).train()(probs, blocked)
    assert (out[..., blocked] == 0).all() and (out[..., ~blocked] != 0).all()


def test_shifted_window_reattention_keeps_other_regions_out():
    """With the shift, Swin's mask blocks keys from other regions; after re-attention's norm
    they must stay 0: a query's output does not depend on such a key (eval mode: in training
    the norm's batch statistics couple every token)."""
    torch.manual_seed(0)
    args = LayerArgs(dims=8, num_heads=2, options=LayerOptions(reattention=True))
    layer = WindowAttention(args, 4, shift=True).eval()
    with torch.no_grad():
        layer.reattention.norm.running_mean.fill_(0.1)  # a norm that shifts every entry
        layer.reattention.norm.running_var.fill_(0.5)
    x = torch.randn(1, 64, 8, requires_grad=True)  # an 8x8 map, 4 windows
    out, _ = layer(x, (8, 8))
    # token (7, 7) and token (0, 0) share the last window after the roll, in different
    # regions: the first must not depend on the second
    grad, = torch.autograd.grad(out[0, 63].sum(), x, retain_graph=True)
    assert grad[0, 0].abs().max() < 1e-30  # what exp(-100) of Swin's mask leaves, as in Swin
    assert grad[0, 62].abs().max() > 1e-4  # (7, 6): same region, it does


# ---------------------------------------------------------------- LSA
def test_own_cell_of_a_reduced_key_grid():
    blocked = own_cell_blocked((5, 4), (2, 2), 2, 'cpu')  # 5 rows: the last one clamps
    assert blocked.shape == (20, 4) and (blocked.sum(1) == 1).all()
    cell = blocked.float().argmax(1).view(5, 4)
    assert cell.tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3],
                             [2, 2, 3, 3]]
    assert torch.equal(own_cell_blocked((3, 3), (3, 3), 1, 'cpu'), torch.eye(9, dtype=bool))


def test_lsa_layer_equals_explicit_masked_softmax():
    torch.manual_seed(0)
    layer = SRAttention(LayerArgs(dims=16, num_heads=2, options=LayerOptions(lsa=True)), 2)
    assert layer.temperature.item() == pytest.approx(8 ** -0.5)
    with torch.no_grad():
        layer.temperature.fill_(0.7)
    x, hw = torch.randn(2, 16, 16), (4, 4)
    out, state = layer(x, hw)
    q = layer.q(x).view(2, 16, 2, 8).transpose(1, 2)
    xr = layer.reduce(x, hw)[0]
    k, v = (t.view(2, 4, 2, 8).transpose(1, 2) for t in layer.kv(xr).chunk(2, -1))
    logits = 0.7 * q @ k.transpose(-2, -1)
    own = torch.tensor([(r // 2) * 2 + c // 2 for r in range(4) for c in range(4)])
    logits[..., torch.arange(16), own] = float('-inf')
    expected = layer.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 16, 16))
    assert torch.allclose(out, expected, atol=1e-5)
    # the state handed on carries the temperature, not the mask
    assert torch.allclose(state.logits(), 0.7 * q @ k.transpose(-2, -1), atol=1e-5)
    out.square().sum().backward()
    assert layer.temperature.grad.abs() > 0


def test_lsa_window_masks_the_diagonal_only():
    torch.manual_seed(0)
    layer = WindowAttention(LayerArgs(dims=8, num_heads=2, options=LayerOptions(lsa=True)), 4)
    x = torch.randn(1, 16, 8, requires_grad=True)  # one 4x4 window
    out, _ = layer(x, (4, 4))
    q, k, v = layer.qkv(x).view(1, 16, 3, 2, 4).permute(2, 0, 3, 1, 4)
    logits = q * 4 ** -0.5 @ k.transpose(-2, -1) + layer.position_bias()
    logits = logits + OWN_KEY_LOGIT * torch.eye(16)
    expected = layer.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(1, 16, 8))
    assert torch.allclose(out, expected, atol=1e-5)


def test_lsa_leaves_the_la_layers_their_diagonal():
    """LA layers reuse the VA logits without the own-key mask: their own cells are ordinary
    logits (the layer test above checks the state handed on), so the DP loss still sees them."""
    model = build_narrow(attention='sra', remedies=dict(lsa=True))
    with torch.no_grad():
        states = model.attention_states(torch.randn(2, 3, 64, 64))
    assert model.stages[1].blocks[2].attn.is_less_attention
    assert states[1][2].logits().min() > OWN_KEY_LOGIT / 10
    model.train()(torch.randn(2, 3, 64, 64))
    assert model.aux_losses()['loss_dp'] > 0


def test_lsa_with_a_single_key_does_not_produce_nan():
    layer = SRAttention(LayerArgs(dims=8, num_heads=1, options=LayerOptions(lsa=True)), 4)
    out, _ = layer(torch.randn(1, 16, 8), (4, 4))  # a 1x1 key grid: only the own cell
    assert torch.isfinite(out).all()


# ---------------------------------------------------------------- SPT
def test_spt_shifts_by_half_a_patch_in_the_four_diagonals():
    proj = ShiftedPatchProjection(1, 8, 4)  # shift 2
    img = torch.arange(36.).view(1, 1, 6, 6)
    s = proj.shifted(img)
    assert s.shape == (1, 5, 6, 6) and torch.equal(s[0, 0], img[0, 0])
    assert torch.equal(s[0, 1, 2:, 2:], img[0, 0, :-2, :-2]) and s[0, 1, :2].abs().sum() == 0
    assert torch.equal(s[0, 2, 2:, :-2], img[0, 0, :-2, 2:])  # left-down
    assert torch.equal(s[0, 3, :-2, 2:], img[0, 0, 2:, :-2])  # right-up
    assert torch.equal(s[0, 4, :-2, :-2], img[0, 0, 2:, 2:])  # left-up


def test_spt_tokens_are_layernormed_flattened_patches_projected():
    torch.manual_seed(0)
    embed = PatchEmbed(2, 8, 2, shifted_patches=True, norm_cfg=None)
    x = torch.randn(1, 2, 6, 4)
    tokens, hw = embed(x)
    assert hw == (3, 2) and tokens.shape == (1, 6, 8)
    proj = embed.proj
    stacked = proj.shifted(x)  # (1, 10, 6, 4)
    patch = stacked[0, :, 2:4, 2:4].reshape(-1)  # token (1, 1), channel-major as unfold
    expected = proj.linear(F.layer_norm(patch, (40, ), proj.token_norm.weight,
                                        proj.token_norm.bias, 1e-5))
    assert torch.allclose(tokens[0, 3], expected, atol=1e-5)


def test_spt_backbone_trains_and_refuses_a_patch_of_one():
    model = build_narrow(attention='window', remedies=dict(spt=True)).train()
    outs = model(torch.randn(2, 3, 64, 64))
    assert [o.shape for o in outs] == [o.shape for o in build_narrow(attention='window')(
        torch.randn(2, 3, 64, 64))]
    sum(o.mean() for o in outs).backward()
    assert model.stages[0].patch_embed.proj.linear.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='spt'):
        LaViT(arch=narrow_arch('sra', patch_sizes=[1, 2, 2, 2]), remedies=dict(spt=True))


# ---------------------------------------------------------------- DRLoc
def test_drloc_loss_on_a_hand_made_case():
    drloc = DenseRelativeLocalization(4, pairs=1, hidden=3)
    with torch.no_grad():
        drloc.mlp[-1].weight.zero_()
        drloc.mlp[-1].bias.copy_(torch.tensor([0.25, 0.]))
    feat = torch.randn(1, 4, 2, 3)
    # positions 0 = (0, 0) and 5 = (1, 2): target ((0 - 1) / 2, (0 - 2) / 3)
    loss = drloc.loss(feat, torch.tensor([[[0]], [[5]]]))
    assert loss.item() == pytest.approx(abs(0.25 + 0.5) + abs(2 / 3))


def test_drloc_reported_scaled_seeded_and_reaching_its_head():
    x = torch.randn(2, 3, 64, 64)
    losses = []
    for weight in (0.1, 0.2):
        model = build_narrow(attention='sra',
                             remedies=dict(drloc_weight=weight, drloc_pairs=16)).train()
        model(x)
        losses.append(model.aux_losses()['loss_drloc'])
    assert losses[1].item() == pytest.approx(2 * losses[0].item(), rel=1e-5)
    losses[1].backward()
    assert model.drloc.mlp[0].weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.stages[-1].parameters())
    assert int(model.drloc_step) == 1


def test_drloc_uncollected_by_the_task_model_is_an_error():
    model = build_narrow(attention='sra', remedies=dict(drloc_weight=0.1)).train()
    model(torch.randn(1, 3, 64, 64))
    with pytest.raises(RuntimeError, match='drloc_weight'):
        model(torch.randn(1, 3, 64, 64))


# ---------------------------------------------------------------- convolution stages
def test_mbconv_with_a_zero_projection_is_the_identity_and_downsamples_odd_maps():
    block = MBConv(8, 8).eval()
    with torch.no_grad():
        block.project.weight.zero_()
        block.project.bias.zero_()
    x = torch.randn(2, 8, 7, 5)
    assert torch.equal(block(x), x)
    down = MBConv(8, 16, stride=2)
    assert down(x).shape == (2, 16, 4, 3)
    down(x).sum().backward()
    assert down.se.reduce.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_conv_stages_keep_the_feature_pyramid(attention):
    plain = build_narrow(attention=attention)
    cctt = build_narrow(attention=attention,
                        remedies=dict(stage_types=('conv', 'conv', 'attn', 'attn')))
    x = torch.randn(2, 3, 72, 100)
    with torch.no_grad():
        assert [o.shape for o in plain(x)] == [o.shape for o in cctt(x)]
    assert type(cctt.stages[0]).__name__ == 'ConvStage'
    assert cctt.stages[2].cross_stage is None  # nothing to carry across from a conv stage
    assert (cctt.stages[3].cross_stage is not None) == (attention == 'sra')
    assert len(cctt.la_layers) == 3  # stages 3-4 keep their LA layers (2 + 1)
    cctt.train()
    sum(o.mean() for o in cctt(x)).backward()
    assert cctt.stages[0].blocks[0].dw.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('stage_types,match', [
    (('conv', 'attn'), 'stage_types has 2 entries for 4 stages'),
    (('conv', 'mlp', 'attn', 'attn'), "unknown stage type"),
    (('attn', 'conv', 'attn', 'attn'), "'conv' stage after an 'attn' stage"),
    (('conv', ) * 4, "no 'attn' stage")])
def test_bad_stage_types_are_refused(stage_types, match):
    with pytest.raises(ValueError, match=match):
        LaViT(arch=narrow_arch('sra'), remedies=dict(stage_types=stage_types))


def test_conv_stage_refuses_a_patch_it_cannot_take_and_first_embedding_options():
    with pytest.raises(ValueError, match="'conv' stage downsamples"):
        LaViT(arch=narrow_arch('sra', patch_sizes=[8, 2, 2, 2]),
              remedies=dict(stage_types=('conv', ) +
              ('attn', ) * 3))
    with pytest.raises(ValueError, match='patch_padding'):
        Swin(arch=narrow_arch('window', num_va=[2, 3, 3, 2]),
             attention=dict(type='window', patch_padding=1),
             remedies=dict(stage_types=('conv', ) + ('attn', ) * 3))


# ---------------------------------------------------------------- options by kind
def test_va_options_refused_by_a_kind_that_does_not_take_them():
    from tests.test_attention_kinds import GlobalKind
    from lavit_mm.models.layers import ATTENTION_KINDS, register_attention_kind
    register_attention_kind(GlobalKind)
    try:
        for option in ('reattention', 'lsa'):
            with pytest.raises(ValueError, match=rf"remedies.{option} is not an option here; "
                                                 rf"remedies takes .*\(attention='sra' / "
                                                 rf"'window' takes it\)"):
                LaViT(arch=narrow_arch('window', num_va=[2, 3, 3, 2]),
                      attention='test-global', remedies={option: True})
    finally:
        del ATTENTION_KINDS[GlobalKind.name]


def test_pvt_and_swin_take_the_remedies_too():
    for model in (PVT(arch=narrow_arch('sra', num_va=[2, 3, 3, 2]),
                      remedies=dict(lsa=True, reattention=True, spt=True)),
                  Swin(arch=narrow_arch('window', num_va=[2, 3, 3, 2]),
                       remedies=dict(lsa=True, reattention=True, spt=True))):
        attn = model.stages[1].blocks[0].attn
        assert attn.temperature is not None and attn.reattention is not None
        model(torch.randn(1, 3, 64, 64))


# ---------------------------------------------------------------- in the three task models
def _task_model(config, registry_scope):
    import importlib
    importlib.import_module(f'{registry_scope}.utils').register_all_modules()
    registry = importlib.import_module(f'{registry_scope}.registry').MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', config))
    cfg.model.backbone.update(remedies=dict(drloc_weight=0.1,
                                            stage_types=('conv', 'attn', 'attn', 'attn')))
    model = registry.build(cfg.model)
    model.init_weights()
    return model.train()


def test_loss_drloc_in_classification_detection_and_segmentation():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData, PixelData
    from mmpretrain.structures import DataSample
    from mmseg.structures import SegDataSample

    x = torch.randn(2, 3, 64, 64)
    cls = _task_model('lavit_t_synthetic_cls.py', 'mmpretrain')
    cls_losses = cls.loss(x, [DataSample().set_gt_label(torch.tensor([i])) for i in (1, 2)])

    det = _task_model('retinanet_lavit_t_synthetic.py', 'mmdet')
    det_samples = []
    for _ in range(2):
        s = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                        batch_input_shape=(64, 64)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[4., 8., 40., 50.]]),
                                      labels=torch.tensor([1]))
        det_samples.append(s)
    det_losses = det.loss(x, det_samples)

    seg = _task_model('semfpn_lavit_t_synthetic.py', 'mmseg')
    seg_samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 64, 64)))
        seg_samples.append(s)
    seg_losses = seg.loss(x, seg_samples)

    for model, losses in ((cls, cls_losses), (det, det_losses), (seg, seg_losses)):
        assert {'loss_drloc', 'loss_dp'} <= set(losses), type(model).__name__
        assert losses['loss_drloc'].item() > 0
        losses['loss_drloc'].backward()
        assert model.backbone.drloc.mlp[0].weight.grad.abs().sum() > 0


# ---------------------------------------------------------------- attention analysis
@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_analysis_sees_the_attention_the_layers_use(attention):
    """LSA's own key carries no probability in the analysed maps; re-attention's maps are
    the module's output, not the softmax of the logits."""
    from lavit_mm_lab.attention import collect_attention
    model = build_narrow(attention=attention, remedies=dict(lsa=True))
    x = torch.randn(1, 3, 64, 64)
    va = collect_attention(model, x)[3][0]  # stage 4: sr 1 / one window, VA
    assert va.kind == 'VA'
    own = va.probs[..., torch.arange(len(va.query_index)), va.query_index]
    assert own.max() < 1e-6 and torch.allclose(va.probs.sum(-1), torch.ones(1))

    model = build_narrow(attention=attention, remedies=dict(reattention=True))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(0.05)
    va = collect_attention(model, x)[3][0]
    assert not torch.allclose(va.probs.sum(-1), torch.ones(1), atol=1e-3)


def test_entropy_does_not_apply_to_reattention_maps():
    from lavit_mm_lab.attention import LayerAttention, normalized_entropy
    probs = torch.full((1, 1, 2, 4), 0.25)
    layer = LayerAttention(0, 0, 'VA', probs, (1, 2), (2, 2), torch.arange(2))
    assert normalized_entropy(layer) == pytest.approx(1.0)
    layer.probs = probs - 0.3  # a normalised (signed) re-attention map
    assert normalized_entropy(layer) != normalized_entropy(layer)  # NaN
