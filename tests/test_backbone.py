"""LaViT/PVT backbone: shapes, the LA and residual properties, freezing, checkpointing, and
the refusal of an unknown attention kind or out_indices outside the stages."""
import copy

import pytest
import torch
import torch.nn.functional as F

from lavit_mm.models import PVT, LaViT
from lavit_mm.models.layers import AttentionState, LayerArgs, SRLessAttention

from tests.helpers import NARROW_ARCH, build_narrow, narrow_arch

SMALL_ARCH = NARROW_ARCH['sra']


def build(arch=None, **kw):
    return build_narrow(arch=copy.deepcopy(arch) if arch else None, **kw)


@pytest.mark.parametrize('size', [(224, 224), (256, 320), (250, 333), (97, 61)])
def test_output_shapes_and_strides(size):
    model = build()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, *size))
    assert len(outs) == 4
    h, w = size
    for i, (out, c) in enumerate(zip(outs, SMALL_ARCH['embed_dims'])):
        stride = 4 * 2 ** i
        # corner padding: ceil at the first embedding, then ceil of each halving
        eh, ew = -(-h // 4), -(-w // 4)
        for _ in range(i):
            eh, ew = -(-eh // 2), -(-ew // 2)
        assert out.shape == (2, c, eh, ew), (i, stride, out.shape)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize('arch,va_share', [
    ('tiny', 3), ('small', 3), ('base', 3), ('pvt1-tiny', 2), ('pvt1-small', 2), ('pvt1-base', 2)])
def test_presets_build_and_run(arch, va_share):
    model = LaViT(arch=arch).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    assert [o.shape[1] for o in outs] == [64, 128, 320, 512]
    # stage 1 all VA; stages 2-4: ceil(L/3) VA then LA (paper-sized), ceil(L/2) (pvt1-)
    depths = model.arch['depths']
    for i, stage in enumerate(model.stages):
        kinds = [b.is_less_attention for b in stage.blocks]
        num_va = depths[i] if i == 0 else -(-depths[i] // va_share)
        assert kinds == [False] * num_va + [True] * (depths[i] - num_va)


def test_out_indices_subset():
    model = build(out_indices=(1, 3))
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [32, 64]


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_fresh_la_layer_reproduces_previous_attention(attention):
    """... and, on windows, reuses the partition, shift and mask of that attention."""
    model = build(narrow_arch(attention, num_heads=[1, 2, 4, 4], embed_dims=[16, 32, 64, 128]),
                  attention=attention)
    with torch.no_grad():
        states = model.attention_states(torch.randn(2, 3, 128, 96))
    checked = 0
    for stage, per_block in zip(model.stages, states):
        for j, block in enumerate(stage.blocks):
            if block.is_less_attention:
                prev, cur = per_block[j - 1], per_block[j]
                torch.testing.assert_close(cur.logits().softmax(-1), prev.logits().softmax(-1))
                if attention == 'window':
                    assert cur.shift == prev.shift and cur.mask is prev.mask
                checked += 1
    assert checked == 4  # 0 + 1 + 2 + 1 LA layers


def test_la_transform_equals_logit_space_transform():
    """(Psi q)(Theta k)^T == Psi and Theta applied along the axes of the logits q k^T."""
    torch.manual_seed(1)
    heads, (H, W), (Hr, Wr), d = 3, (6, 10), (3, 5), 8
    la = SRLessAttention(LayerArgs(dims=heads * 8, num_heads=heads), sr_ratio=2)
    with torch.no_grad():
        la.theta.weight.normal_()
        la.psi.weight.normal_()
    q, k = torch.randn(2, heads, H * W, d), torch.randn(2, heads, Hr * Wr, d)
    logits = q @ k.transpose(-2, -1)  # (B, h, N, N_r)
    # Theta along keys: a per-head conv over the key grid, for every query.
    a = logits.reshape(2 * heads, H * W, Hr, Wr).transpose(0, 1)  # (N, B*h, Hr, Wr)
    wt = la.theta.weight.repeat(2, 1, 1, 1)  # (B*h, 1, k, k)
    a = F.conv2d(a, wt, padding=1, groups=2 * heads).transpose(0, 1)  # (B*h, N, Hr, Wr)
    # Psi along queries: a per-head conv over the query grid, for every key.
    a = a.reshape(2 * heads, H, W, Hr * Wr).permute(3, 0, 1, 2)  # (N_r, B*h, H, W)
    wp = la.psi.weight.repeat(2, 1, 1, 1)
    a = F.conv2d(a, wp, padding=1, groups=2 * heads)  # (N_r, B*h, H, W)
    expected = a.permute(1, 2, 3, 0).reshape(2, heads, H * W, Hr * Wr)
    got = la.psi(q, (H, W)) @ la.theta(k, (Hr, Wr)).transpose(-2, -1)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_cross_stage_residual_zero_init_is_baseline_and_adds_pooled_attention():
    x = torch.randn(1, 3, 128, 128)
    with_res, without = build(), build(attention=dict(type='sra', cross_stage_residual=False))
    without.load_state_dict(
        {k: v for k, v in with_res.state_dict().items() if 'cross_stage' not in k})
    with torch.no_grad():
        for a, b in zip(with_res(x), without(x)):
            torch.testing.assert_close(a, b)
        # a non-zero map adds (P q' U_h)(P k' V_h)^T to the logits
        stage = with_res.stages[1]
        stage.cross_stage.query_map.normal_()
        states = with_res.attention_states(x)
        prev, first = states[0][-1], states[1][0]
        base = first.own().logits()  # the layer's own q k^T
        pooled_q = F.avg_pool2d(prev.q.transpose(2, 3).reshape(1, -1, 32, 32), 2)
        pooled_q = pooled_q.reshape(1, -1, 256).transpose(1, 2)  # (1, N, G*d'), G = 1
        prev_k = prev.k[:, 0]  # (1, N_r, d'): key grids of stages 1 and 2 are equal
        U, V = stage.cross_stage.query_map, stage.cross_stage.key_map  # (H=2, G*d', r)
        residual = (pooled_q @ U) @ (prev_k @ V).transpose(-2, -1)  # (H, N, N_r)
        torch.testing.assert_close(first.logits(), base + residual[None], rtol=1e-4, atol=1e-4)
        assert first.q.shape[-1] == first.own_dims + 16  # rank-16 extension
        assert not torch.allclose(with_res(x)[1], without(x)[1])


def test_la_key_stride_attends_to_coarser_keys_and_matches_strided_logit_transform():
    """la_key_stride=2: the first LA layer of a stage maps the VA key grid to a 2x coarser
    one (Theta with stride 2 along the key axis), later LA layers stay on it; values are the
    2x2 cell means."""
    arch = dict(SMALL_ARCH, num_va=[1, 1, 1, 1])  # LA layers in every stage, two in stage 2
    model = build(arch, less_attention=dict(key_stride=2))
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        for m in model.la_layers:
            m.theta.weight.normal_()
        states = model.attention_states(x)
        for stage, per_block in zip(model.stages, states):
            va, la = per_block[0], per_block[1]
            Hv, Wv = va.hw_k
            assert la.hw_k == (-(-Hv // 2), -(-Wv // 2))
            for later in per_block[2:]:
                assert later.hw_k == la.hw_k
            # Theta(stride 2) == the stride-1 Theta of the logits, sampled at even keys
            attn = stage.blocks[1].attn
            full = attn.theta(va.k, va.hw_k)  # (B, h, Hv*Wv, d)
            even = full.view(1, -1, Hv, Wv, full.shape[-1])[:, :, ::2, ::2].flatten(2, 3)
            torch.testing.assert_close(la.k, even)
    # values: the 2x2 means of the reduced tokens
    attn = model.stages[1].blocks[1].attn
    tokens = torch.randn(1, 5 * 7, attn.proj.in_features)
    coarse = attn.coarse_values(tokens, (5, 7))  # (1, 3 * 4, C)
    torch.testing.assert_close(coarse[0, 0], tokens[0, [0, 1, 7, 8]].mean(0))
    torch.testing.assert_close(coarse[0, -1], tokens[0, -1])  # a partial corner cell
    # and it trains with the DP loss at an odd size
    model = build(arch, less_attention=dict(key_stride=2, dp_loss=dict(weight=1.0))).train()
    outs = model(torch.randn(1, 3, 97, 61))
    loss_dp = model.aux_losses()['loss_dp']
    (sum(o.mean() for o in outs) + loss_dp).backward()
    assert torch.isfinite(loss_dp) and all(torch.isfinite(o).all() for o in outs)
    assert model.stages[1].blocks[1].attn.theta.weight.grad.abs().sum() > 0


def test_pvt_is_lavit_without_la_and_residual():
    arch = dict(SMALL_ARCH, num_va=SMALL_ARCH['depths'])
    lavit = build(arch, norm_after_stage=False,
                  attention=dict(type='sra', cross_stage_residual=False, patch_padding=0))
    pvt = PVT(arch=copy.deepcopy(arch)).eval()
    pvt.load_state_dict(lavit.state_dict())
    x = torch.randn(1, 3, 250, 333)
    with torch.no_grad():
        for a, b in zip(lavit(x), pvt(x)):
            torch.testing.assert_close(a, b)
    assert not any(b.is_less_attention for s in pvt.stages for b in s.blocks)


def test_frozen_stages_freeze_and_stay_frozen_after_train():
    model = build(frozen_stages=2)
    model.train()
    for i, stage in enumerate(model.stages):
        for name, p in stage.named_parameters():
            assert p.requires_grad == (i >= 2), (i, name)
        assert all(not m.training for m in stage.modules()) == (i < 2)
    before = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    sum(o.mean() for o in model(torch.randn(2, 3, 64, 64))).backward()
    opt.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert not {k for k in changed if k.startswith(('stages.0.', 'stages.1.'))}
    assert any(k.startswith('stages.2.') for k in changed)
    assert any(k.startswith('stages.3.') for k in changed)


def test_frozen_stage_zero_freezes_only_first_embeddings():
    model = build(frozen_stages=0).train()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, _ in model.named_parameters()
                      if n.startswith(('stages.0.patch_embed', 'stages.0.pos_embed'))}


def test_with_cp_same_output_and_gradients():
    x = torch.randn(2, 3, 96, 64)
    results = []
    for with_cp in (False, True):
        model = build(with_cp=with_cp, drop_path_rate=0.,
                      less_attention=dict(dp_loss=dict(weight=1.0))).train()
        outs = model(x)
        loss = sum((o ** 2).mean() for o in outs) + model.aux_losses()['loss_dp']
        loss.backward()
        results.append((outs, {n: p.grad.clone() for n, p in model.named_parameters()
                               if p.grad is not None}))
    (o1, g1), (o2, g2) = results
    for a, b in zip(o1, o2):
        torch.testing.assert_close(a, b)
    assert g1.keys() == g2.keys() and len(g1) > 50
    for n in g1:
        torch.testing.assert_close(g1[n], g2[n], rtol=1e-4, atol=1e-6, msg=n)


def test_dp_loss_only_when_weighted_and_training():
    x = torch.randn(1, 3, 64, 64)
    on = build(drop_path_rate=0., less_attention=dict(dp_loss=dict(weight=0.5))).train()
    on(x)
    losses = on.aux_losses()
    assert set(losses) == {'loss_dp'} and losses['loss_dp'].requires_grad
    # same init, same step
    full = build(drop_path_rate=0., less_attention=dict(dp_loss=dict(weight=1.0))).train()
    full(x)
    assert losses['loss_dp'].item() == pytest.approx(0.5 * full.aux_losses()['loss_dp'].item())
    on.eval()
    with torch.no_grad():
        on(x)
    assert on.aux_losses() == {}
    off = build(less_attention=dict(dp_loss=dict(weight=0.))).train()
    off(x)
    assert off.aux_losses() == {}


def test_dp_sampling_follows_the_checkpointed_step_counter():
    """The DP loss's sampled offsets depend on the step count in the state dict, not on the
    global RNG: a model resumed from a state dict computes what the original would."""
    x = torch.randn(1, 3, 96, 96)
    a = build(drop_path_rate=0., less_attention=dict(dp_loss=dict(weight=1.0))).train()
    a(x)
    a.aux_losses()
    assert int(a.state_dict()['dp_step']) == 1
    b = build(drop_path_rate=0., less_attention=dict(dp_loss=dict(weight=1.0))).train()
    b.load_state_dict(a.state_dict())
    torch.manual_seed(123)  # the global RNG plays no part
    a(x)
    torch.manual_seed(456)
    b(x)
    assert a.aux_losses()['loss_dp'].item() == b.aux_losses()['loss_dp'].item()


def test_checkpoint_keys_do_not_depend_on_the_dp_weight_and_old_layouts_load():
    """The step counter exists in every model with LA layers; checkpoints of models trained
    without the DP loss (older versions registered the counter only with a positive weight)
    load strictly, the counter starting at 0."""
    on = build(less_attention=dict(dp_loss=dict(weight=1.0)))
    off = build(less_attention=dict(dp_loss=dict(weight=0.)))
    assert on.state_dict().keys() == off.state_dict().keys()
    assert 'dp_step' in off.state_dict()
    old = {k: v for k, v in on.state_dict().items() if k != 'dp_step'}
    off.dp_step.fill_(7)
    off.load_state_dict(old)  # strict
    assert int(off.dp_step) == 0
    assert 'dp_step' not in PVT(arch='tiny').state_dict()  # no LA layer, no counter


def test_drop_path_is_stochastic_in_training_only():
    # no backbone loss to collect
    model = build(drop_path_rate=0.5, less_attention=dict(dp_loss=dict(weight=0.)))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        e1, e2 = model.eval()(x)[3], model(x)[3]
        t1, t2 = model.train()(x)[3], model(x)[3]
    torch.testing.assert_close(e1, e2)
    assert not torch.allclose(t1, t2)


def test_position_embedding_resized_for_other_resolutions():
    model = build()
    pe = model.stages[0].pos_embed
    assert pe.pos_embed.shape == (1, 56 * 56, 16)
    table = pe.resized((20, 30))
    assert table.shape == (1, 600, 16)
    assert torch.equal(pe.resized((56, 56)), pe.pos_embed)


def test_inference_reuses_the_resized_position_table_until_it_changes():
    pe = build().stages[0].pos_embed
    with torch.no_grad():
        first = pe.resized((20, 30))
        assert pe.resized((20, 30)) is first  # cached
        assert pe.resized((21, 30)).shape == (1, 630, 16)
        pe.pos_embed.add_(1.0)  # an optimizer step / load_state_dict: in place
        updated = pe.resized((20, 30))
    torch.testing.assert_close(updated, first + 1.0)
    table = pe.resized((20, 30))  # with grad: never cached, part of the graph
    assert table.requires_grad and table is not updated


def test_attention_state_own_strips_extension():
    q, k = torch.randn(1, 2, 6, 10), torch.randn(1, 2, 3, 10)
    s = AttentionState(q, k, (2, 3), (1, 3), own_dims=4)
    assert s.own().q.shape[-1] == 4 and s.own().k.shape[-1] == 4


def test_dp_loss_has_no_minimum_at_uniform_attention():
    """The first DP loss (margin 0) was satisfied by uniform attention, and training drove
    the attention LA layers reuse to uniform; with the margin, uniform costs m/(1+m)(M-1)/M."""
    from lavit_mm.models.layers import diagonality_preserving_loss as dp
    M = 8
    uniform = torch.full((2, 3, M, M), 1 / M)
    assert dp(uniform, margin=0.) == 0  # the trap
    assert dp(uniform, margin=1.) == pytest.approx(0.5 * (M - 1) / M)

    def dominant(ratio):  # symmetric, diagonal = ratio x every other entry, rows sum to 1
        p = torch.ones(M, M) + (ratio - 1) * torch.eye(M)
        return (p / p.sum(-1, keepdim=True))[None]
    assert dp(dominant(2.0), margin=1.) == pytest.approx(0., abs=1e-7)
    assert dp(dominant(1.5), margin=1.) > 0 and dp(dominant(1.5), margin=0.) == 0
    asymmetric = dominant(3.0).clone()
    asymmetric[0, 0, 1] += 0.05
    asymmetric[0, 0, 0] -= 0.05
    assert dp(asymmetric) > dp(dominant(3.0))
    with pytest.raises(ValueError, match='less_attention.dp_loss.margin must be >= 0'):
        LaViT(arch='tiny', less_attention=dict(dp_loss=dict(margin=-1)))


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_dp_loss_shapes_only_the_la_transforms(attention):
    """The DP loss must not reach the attention an LA layer inherits (it collapsed that VA
    attention to uniform when it did); it trains Theta/Psi."""
    model = build(narrow_arch(attention), attention=attention,
                  **{} if attention == 'sra' else dict(window_size=4),
                  less_attention=dict(dp_loss=dict(weight=1.0))).train()
    with torch.no_grad():
        for m in model.la_layers:
            m.theta.weight.add_(0.1 * torch.randn_like(m.theta.weight))
    model(torch.randn(1, 3, 64, 64))
    model.aux_losses()['loss_dp'].backward()
    stage = model.stages[1]  # VA, VA, LA
    va = stage.blocks[1].attn
    va_params = [va.q.weight, va.kv.weight] if attention == 'sra' else [va.qkv.weight]
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in va_params)
    la = stage.blocks[2].attn
    assert la.theta.weight.grad.abs().sum() > 0 and la.psi.weight.grad.abs().sum() > 0


def test_unknown_attention_kind():
    with pytest.raises(ValueError, match="unknown attention 'linear'"):
        LaViT(arch='tiny', attention='linear')


def test_out_indices_out_of_range():
    with pytest.raises(ValueError, match='out_indices'):
        LaViT(arch='tiny', out_indices=(0, 4))
