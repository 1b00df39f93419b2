"""Stages of Less-Attention layers only (``num_va=0`` after the first stage): the first LA
layer starts from the previous stage's last attention, pooled onto its grids and spread over
its heads, in factored form; refused where there is nothing to inherit."""
import pytest
import torch
import torch.nn.functional as F

from lavit_mm.models import LaViT
from lavit_mm.models.layers.cross_stage import inherited_heads
from tests.helpers import narrow_arch

LA_ONLY = narrow_arch('sra', num_va=[2, 2, 0, 0])  # stages 3 and 4: LA layers only


def _pooled_logits(state, hw_q, hw_k):
    """The previous stage's logits (B, G, N', N_k') average-pooled over both token grids."""
    a = state.own().logits()
    B, G = a.shape[:2]
    a = a.reshape(B * G, *state.hw_q, -1).permute(0, 3, 1, 2)  # (BG, N_k', H', W')
    a = F.adaptive_avg_pool2d(a, hw_q).flatten(2).transpose(1, 2)  # (BG, N, N_k')
    a = a.reshape(B * G, -1, *state.hw_k)  # (BG, N, H_k', W_k')
    a = F.adaptive_avg_pool2d(a, hw_k).flatten(2)  # (BG, N, N_k)
    return a.reshape(B, G, *a.shape[1:])


@pytest.mark.parametrize('size', [(64, 64), (31, 45)])
def test_first_la_layer_starts_from_the_pooled_previous_attention(size):
    torch.manual_seed(0)
    model = LaViT(arch=LA_ONLY, less_attention=dict(dp_loss=dict(weight=0.))).eval()
    with torch.no_grad():
        states = model.attention_states(torch.randn(2, 3, *size))
    prev, first = states[1][-1], states[2][0]
    assert first.hw_q != prev.hw_q  # a new, coarser grid
    expected = _pooled_logits(prev, first.hw_q, first.hw_k)
    heads = inherited_heads(prev.q.shape[1], first.q.shape[1])
    assert heads == [0, 0, 1]  # 2 heads spread over 3
    # Theta/Psi start at the identity: the layer's attention is the inherited one
    torch.testing.assert_close(first.logits(), expected[:, heads], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('key_stride', [1, 2])
def test_la_only_stages_train_and_evaluate_at_odd_sizes(key_stride):
    torch.manual_seed(0)
    model = LaViT(arch=LA_ONLY, less_attention=dict(key_stride=key_stride)).train()
    for size in [(31, 45), (17, 9)]:
        outs = model(torch.randn(2, 3, *size))
        losses = model.aux_losses()
        assert set(losses) == {'loss_dp'} and torch.isfinite(losses['loss_dp'])
        (sum(o.mean() for o in outs) + losses['loss_dp']).backward()
    first = model.stages[2].blocks[0].attn
    assert first.is_less_attention and first.theta.weight.grad.abs().sum() > 0
    # the stage's LA layers hold no q/k and the stage no cross-stage residual of its own
    assert not hasattr(first, 'q') and model.stages[2].cross_stage is None
    model.eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 33, 50))
    assert [tuple(o.shape[-2:]) for o in outs] == [(9, 13), (5, 7), (3, 4), (2, 2)]


def test_la_only_stages_are_refused_where_nothing_can_be_inherited():
    with pytest.raises(ValueError, match=r'stage 0: num_va=0 must be in \[1'):
        LaViT(arch=narrow_arch('sra', num_va=[0, 2, 1, 1]))
    with pytest.raises(ValueError, match="num_va=0.*attention='window'.*do not nest"):
        LaViT(arch=narrow_arch('window', num_va=[2, 2, 0, 1]), attention='window')
    with pytest.raises(ValueError, match="num_va=0.*computes no attention"):
        LaViT(arch=narrow_arch('sra', num_va=[2, 2, 0, 1]),
              remedies=dict(stage_types=('conv', 'conv', 'attn', 'attn')))
