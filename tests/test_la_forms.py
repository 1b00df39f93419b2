"""Less-Attention's forms: the paper's dense Theta/Psi beside our local ones (``la_transform``),
how they start (``la_init``), and the DP loss's three forms (``dp_form``): computed by hand
from the parameters, trained a step on both backbone families, refused where they do not
apply."""
import itertools
import math
import re

import pytest
import torch

from lavit_mm.models import LaViT, LaViTPlain
from lavit_mm.models.layers import LayerArgs, LayerOptions, SRAttention, SRLessAttention
from lavit_mm.models.layers.dense_transform import DenseTokenMap
from lavit_mm.models.layers.dp_loss import (corrected_dp_loss, diagonality_preserving_loss,
                                            dp_loss_of_scores, paper_dp_loss)
from tests.helpers import narrow_arch

FORMS = list(itertools.product(('local', 'dense'), ('identity', 'linear'),
                               ('ours', 'paper', 'paper-corrected')))


def _linear(weight: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """An ``nn.Linear``-style map per head along the last axis: t @ W^T."""
    return t @ weight.transpose(-2, -1)


def _paper_attention(psi, theta, scores):
    """``softmax(Psi(Theta(S)^T)^T)``: the paper's formula with Theta and Psi as linear maps
    (acting on the last axis), read literally."""
    return _linear(psi, _linear(theta, scores).transpose(-2, -1)).transpose(-2, -1).softmax(-1)


def _merge_heads(t):
    B, h, N, d = t.shape
    return t.transpose(1, 2).reshape(B, N, h * d)


def test_a_dense_plain_la_layer_computes_the_papers_formula():
    torch.manual_seed(0)
    model = LaViTPlain(arch=dict(embed_dims=24, num_layers=3, num_heads=2,
                                 feedforward_channels=48),
                       img_size=16, patch_size=4,
                       less_attention=dict(layers='1va+2la', transform='dense',
                                           init='linear')).eval()
    va, la = model.layers[0].attn, model.layers[1].attn
    assert la.psi.weight.shape == (2, 17, 17)  # 4 x 4 patches and the class token
    x, hw = torch.randn(2, 17, 24), (4, 4)
    with torch.no_grad():
        _, state = va(x, hw)
        out, _ = la(x, hw, prev=state)
        scores = state.q @ state.k.transpose(-2, -1)  # (B, h, N, N), scale folded into q
        probs = _paper_attention(la.psi.weight, la.theta.weight, scores)
        expected = la.proj(_merge_heads(probs @ la.heads(la.v(x))))
    assert torch.allclose(out, expected, atol=1e-5)
    # the chain: a second LA layer transforms the first one's transformed scores
    with torch.no_grad():
        _, first = la(x, hw, prev=state)
        second = model.layers[2].attn.transform(first, hw)
        a1 = _linear(la.psi.weight, _linear(la.theta.weight, scores).transpose(-2, -1)
                     ).transpose(-2, -1)
        l2 = model.layers[2].attn
        a2 = _linear(l2.psi.weight, _linear(l2.theta.weight, a1).transpose(-2, -1)
                     ).transpose(-2, -1)
    assert torch.allclose(second.logits(), a2, atol=1e-4)


def test_a_dense_sra_la_layer_maps_queries_and_reduced_keys():
    """N queries x N_r keys: Psi is N x N, Theta N_r x N_r, at the configured grid."""
    torch.manual_seed(0)
    options = LayerOptions(la_init='linear')
    args = LayerArgs(dims=16, num_heads=2, options=options, token_grid=(8, 8))
    va, la = SRAttention(args, sr_ratio=2), SRLessAttention(args, sr_ratio=2,
                                                            transform='dense')
    assert (la.psi.weight.shape, la.theta.weight.shape) == ((2, 64, 64), (2, 16, 16))
    x, hw = torch.randn(3, 64, 16), (8, 8)
    va.eval(), la.eval()
    with torch.no_grad():
        _, state = va(x, hw)
        out, _ = la(x, hw, prev=state)
        scores = state.q @ state.k.transpose(-2, -1)  # (B, h, 64, 16)
        probs = _paper_attention(la.psi.weight, la.theta.weight, scores)
        x_r, _ = la.reduce(x, hw)
        expected = la.proj(_merge_heads(probs @ la.heads(la.v(x_r))))
    assert torch.allclose(out, expected, atol=1e-5)


def test_a_dense_map_resizes_like_a_position_table():
    torch.manual_seed(0)
    dense = DenseTokenMap(2, (4, 4), prefix=1, init='linear')
    assert dense.matrix((4, 4)) is dense.weight
    resized = dense.matrix((6, 8))  # (2, 49, 49)
    assert resized.shape == (2, 49, 49)
    assert torch.equal(resized[:, 0, 0], dense.weight[:, 0, 0])  # the class token's entry
    # a map of a smooth function along the grid, resized, acts as the map on the
    # interpolated function: the identity stays close to the identity on smooth inputs
    identity = DenseTokenMap(1, (8, 8))
    ramp = torch.linspace(0, 1, 16).repeat(16, 1).reshape(1, 256, 1)  # smooth, 16 x 16 grid
    mapped = identity(ramp, (16, 16))
    assert (mapped - ramp)[:, 16 * 2:16 * 14].abs().max() < 0.05  # away from the borders
    assert not torch.allclose(mapped, ramp)  # a resized map is not the exact identity


@pytest.mark.parametrize('transform,init,form', FORMS)
def test_every_form_trains_a_step_on_a_plain_vit(transform, init, form):
    torch.manual_seed(0)
    model = LaViTPlain(arch=dict(embed_dims=32, num_layers=18, num_heads=2,
                                 feedforward_channels=64),
                       img_size=32, patch_size=4,
                       less_attention=dict(layers='14va+4la', transform=transform, init=init,
                                           dp_loss=dict(form=form))).train()
    model.init_weights()
    out = model(torch.randn(2, 3, 32, 32))[0]
    losses = model.aux_losses()
    (out.square().mean() + losses['loss_dp']).backward()
    theta = model.layers[14].attn.theta.weight
    assert torch.isfinite(losses['loss_dp']) and theta.grad is not None
    assert theta.grad.abs().sum() > 0
    assert (theta.dim() == 3) == (transform == 'dense')
    with torch.no_grad():  # eval at another input size: dense maps are resized
        assert model.eval()(torch.randn(1, 3, 48, 48))[0].shape == (1, 32)


@pytest.mark.parametrize('transform,init,form', FORMS)
def test_every_form_trains_a_step_on_lavit_tiny(transform, init, form):
    torch.manual_seed(0)
    dense = dict(map_size=64) if transform == 'dense' else {}
    model = LaViT(arch='tiny', less_attention=dict(
        transform=transform, init=init, dp_loss=dict(form=form), **dense)).train()
    model.init_weights()
    outs = model(torch.randn(1, 3, 64, 64))
    losses = model.aux_losses()
    (sum(o.square().mean() for o in outs) + losses['loss_dp']).backward()
    la = model.la_layers[0]
    assert torch.isfinite(losses['loss_dp']) and la.psi.weight.grad.abs().sum() > 0
    if transform == 'dense':  # stage 2 at 64 px: 8 x 8 queries, 2 x 2 reduced keys
        assert (la.psi.weight.shape[-1], la.theta.weight.shape[-1]) == (64, 4)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 96, 64))[3].shape == (1, 512, 3, 2)


def test_identity_and_linear_init():
    torch.manual_seed(0)
    dense = dict(transform='dense', map_size=64)
    identity = LaViT(arch=narrow_arch('sra'), less_attention=dense)
    linear = LaViT(arch=narrow_arch('sra'), less_attention=dict(dense, init='linear'))
    w = identity.la_layers[0].psi.weight
    assert torch.equal(w, torch.eye(w.shape[-1]).expand_as(w))
    v = linear.la_layers[0].psi.weight
    bound = v.shape[-1] ** -0.5  # nn.Linear's default: uniform in +-1/sqrt(fan_in)
    assert v.abs().max() <= bound and v.abs().max() > 0.9 * bound
    local = LaViT(arch=narrow_arch('sra'),
                  less_attention=dict(init='linear')).la_layers[0].psi.weight
    assert local.abs().max() <= 1 / 3 and local[:, :, 1, 1].abs().max() < 1  # not identity


# ---------------------------------------------------------------- the DP loss's forms
def _loops(scores, margin=1.0):
    """The three forms of one (M, M) map, written as loops over entries."""
    A, M = scores.double().tolist(), scores.shape[-1]
    sym = sum(abs(A[i][j] - A[j][i]) for i in range(M) for j in range(M)) / M ** 2
    printed = sum((M - 1) * A[i][i] - sum(A[i][j] for j in range(M) if j != i)
                  for i in range(M)) / M ** 2
    hinge = sum(max(0., math.log1p(margin) - (A[i][i] - sum(A[i][j] for j in range(M)
                                                            if j != i) / (M - 1)))
                for i in range(M)) / M
    return sym + printed, sym + hinge


def test_the_paper_forms_equal_their_formulas():
    torch.manual_seed(0)
    scores = torch.randn(5, 5) * 3
    paper, corrected = _loops(scores, margin=0.5)
    assert paper_dp_loss(scores) == pytest.approx(paper, abs=1e-5)
    assert corrected_dp_loss(scores, 0.5) == pytest.approx(corrected, abs=1e-5)
    batch = torch.randn(2, 3, 4, 4)  # mean over the leading dims
    assert paper_dp_loss(batch) == pytest.approx(
        sum(_loops(batch[b, h])[0] for b in range(2) for h in range(3)) / 6, abs=1e-5)
    assert dp_loss_of_scores(scores, 'ours', 0.5) == pytest.approx(
        float(diagonality_preserving_loss(scores.softmax(-1), 0.5)))


@pytest.mark.parametrize('size,margin', [(1, 1.), (7, 1.), (33, .5), (50, 0.)])
def test_the_training_dp_loss_has_the_definitions_value_and_gradient(size, margin):
    """'ours' in training runs a fused forward/backward (dp_loss._OursOfScores): the same
    value and gradient as autograd through the definition, in float32 as training runs it, on
    random scores and on tied ones (an identity-like map: symmetric, so the symmetry term
    sits on abs's kink, where both must take the same side)."""
    torch.manual_seed(size)
    random = torch.randn(2, 3, size, size) * 3
    tied = torch.eye(size).expand(2, 3, size, size) * 2
    for scores in (random, tied):
        scores = scores.clone().requires_grad_()
        expected = diagonality_preserving_loss(scores.softmax(-1), margin)
        expected_grad, = torch.autograd.grad(expected, scores)
        got = dp_loss_of_scores(scores, 'ours', margin)
        got_grad, = torch.autograd.grad(got, scores)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(got_grad, expected_grad, rtol=0, atol=1e-7)


def test_the_paper_forms_minimisers():
    """As printed, the dominance term falls without bound as the diagonal falls; corrected,
    it is zero once the diagonal leads its row by ln(1 + m), and uniform scores pay."""
    eye = torch.eye(6)
    assert paper_dp_loss(-10 * eye) < paper_dp_loss(-eye) < paper_dp_loss(eye)
    assert float(corrected_dp_loss(eye * 2 * math.log(2), 1.0)) == 0.
    assert float(corrected_dp_loss(torch.zeros(6, 6), 1.0)) == pytest.approx(math.log(2))
    assert float(corrected_dp_loss(torch.zeros(1, 1))) == 0.  # one key: nothing to dominate


def test_no_dp_loss_is_computed_at_weight_zero():
    model = LaViTPlain(arch=dict(embed_dims=16, num_layers=2, num_heads=2,
                                 feedforward_channels=32),
                       img_size=8, patch_size=4,
                       less_attention=dict(layers='1va+1la', dp_loss=dict(weight=0.))).train()
    model(torch.randn(1, 3, 8, 8))
    assert model.aux_losses() == {}


@pytest.mark.parametrize('less_attention,message', [
    (dict(transform='dense', kernel_size=5),
     "less_attention.kernel_size applies to transform='local' only"),
    (dict(transform='dense', key_stride=2),
     "less_attention.key_stride applies to transform='local' only"),
    (dict(map_size=64), "less_attention.map_size applies to transform='dense' only"),
    (dict(transform='Dense'), "less_attention.transform must be one of ('local', 'dense')"),
    (dict(init='zeros'), "less_attention.init must be one of ('identity', 'linear')"),
    (dict(dp_loss=dict(form='printed')),
     "less_attention.dp_loss.form must be one of ('ours', 'paper', 'paper-corrected')"),
    (dict(dp_loss=dict(form='paper', margin=0.5)),
     "less_attention.dp_loss.margin is not part of form='paper'"),
    (dict(dp_loss=dict(weight=0., form='paper')),
     'less_attention.dp_loss.form configures the DP loss, which weight=0 turns off'),
    (dict(dp_loss=dict(weight=0., margin=2.)), 'less_attention.dp_loss.margin configures'),
    (dict(dp_loss=dict(weight=float('nan'))),
     'less_attention.dp_loss.weight must be a finite number, got nan'),
    (dict(dp_loss=dict(margin=float('inf'))),
     'less_attention.dp_loss.margin must be a finite number'),
    (dict(kernel_size=4), 'less_attention.kernel_size must be odd'),
    (dict(dp_loss=dict(wieght=1.)), r"less_attention.dp_loss.wieght is not an option here; "
     r"less_attention.dp_loss takes ['form', 'margin', 'weight']"),
])
def test_options_of_another_form_are_refused_by_name(less_attention, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        LaViT(arch=narrow_arch('sra'), less_attention=less_attention)


def test_refusals_of_the_plain_vit_and_of_windows():
    plain = dict(arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32),
                 img_size=8, patch_size=4)
    with pytest.raises(ValueError, match="less_attention.kernel_size applies to transform="
                                         "'local'"):
        LaViTPlain(**plain,
                   less_attention=dict(layers='1va+1la', transform='dense', kernel_size=5))
    with pytest.raises(ValueError, match='less_attention.transform configures Less-Attention '
                                         'layers and less_attention.layers has none'):
        LaViTPlain(**plain, less_attention=dict(transform='dense'))
    with pytest.raises(ValueError, match=re.escape(
            "less_attention.transform is not an option here; less_attention takes ['head_mix', "
            "'init', 'dp_loss'] (attention='sra' takes it)")):
        LaViT(arch=narrow_arch('window'), attention='window',
              less_attention=dict(transform='dense'))
    # windows have dense in-window maps only; la_init applies to them
    window = LaViT(arch=narrow_arch('window'), attention='window',
                   less_attention=dict(init='linear'))
    w = window.la_layers[0].psi.weight
    assert not torch.equal(w, torch.eye(w.shape[-1]).expand_as(w))


# ---------------------------------------------------------------- the experiment's rule
def test_the_default_rule_skips_forms_that_copy_or_go_uniform(tmp_path):
    import json

    from lavit_mm_lab.la_forms import (FORMS, choose_default, form_rows, la_layer_means,
                                       parse_run_name, read_top1, runs_missing)
    assert parse_run_name('vit18_dense_linear_corrected_fashion_mnist') == (
        'vit18', ('dense', 'linear', 'corrected'))
    with pytest.raises(ValueError, match='is not named'):
        parse_run_name('vit18_la_fashion_mnist')
    top1 = {'vit18_local_identity_nodp_fashion_mnist': [80, 81, 82],  # best, but copies
            'lavit_t_paper_local_identity_nodp_fashion_mnist': [90, 90, 90],
            'vit18_dense_linear_paper_fashion_mnist': [70, 71, 72],
            'lavit_t_paper_dense_linear_paper_fashion_mnist': [88, 88, 88],
            'vit18_dense_linear_ours_fashion_mnist': [60, 60, 60],  # uniform
            'lavit_t_paper_dense_linear_ours_fashion_mnist': [95, 95, 95],
            'vit18_dense_identity_ours_fashion_mnist': [99, 99, 99]}  # on one model only
    for name, values in top1.items():
        for seed, value in enumerate(values):
            run = tmp_path / name / f'seed{seed}'
            run.mkdir(parents=True)
            (run / 'result.json').write_text(json.dumps(
                dict(seed=seed, metrics={'accuracy/top1': value})))
    (tmp_path / 'vit18_la_fashion_mnist' / 'seed0').mkdir(parents=True)  # not a form: skipped
    read = read_top1(str(tmp_path))
    assert read == {k: [float(v) for v in vs] for k, vs in sorted(top1.items())}
    summary = [dict(model='vit18_local_identity_nodp_fashion_mnist', kind='LA',
                    adjacent=(0.97, 0.01), entropy=(0.5, 0.1)),
               dict(model='vit18_local_identity_nodp_fashion_mnist', kind='LA',
                    adjacent=(0.95, 0.01), entropy=(0.6, 0.1)),
               dict(model='vit18_local_identity_nodp_fashion_mnist', kind='VA',
                    adjacent=(0.1, 0.01), entropy=(0.1, 0.1))]
    assert la_layer_means(summary) == {
        'vit18_local_identity_nodp_fashion_mnist': (pytest.approx(0.96), pytest.approx(0.55))}
    attention = {name: (0.5, 0.5) for name in top1}
    attention['vit18_local_identity_nodp_fashion_mnist'] = (0.96, 0.55)
    attention['vit18_dense_linear_ours_fashion_mnist'] = (0.5, 0.99)
    decision = choose_default(form_rows(read, attention))
    assert decision.form == ('dense', 'linear', 'paper') and decision.qualified
    assert decision.mean_top1 == pytest.approx((71 + 88) / 2)
    attention['lavit_t_paper_dense_linear_paper_fashion_mnist'] = (0.99, 0.2)
    fallback = choose_default(form_rows(read, attention))  # none qualifies: best mean top-1
    assert (fallback.form, fallback.qualified) == (('local', 'identity', 'nodp'), False)
    with pytest.raises(ValueError, match='no attention measures'):
        choose_default(form_rows(read))
    # 7 runs of 3 seeds of the experiment's 2 x 8 x 3 (vit18_dense_identity_ours's included)
    assert runs_missing(form_rows(read)) == 2 * len(FORMS) * 3 - 7 * 3
