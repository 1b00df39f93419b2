"""init_cfg=Pretrained with prefix; clear errors for checkpoints of the wrong layout."""
import pytest
import torch

from lavit_mm.models import LaViT
from lavit_mm.models.checkpoint import checkpoint_filter_fn, load_pretrained

from tests.helpers import narrow_arch

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
    src = {k: v for k, v in LaViT(arch=dict(ARCH), dp_loss_weight=0.).state_dict().items()
           if k != 'dp_step'}
    torch.save(src, tmp_path / 'w.pth')
    model = LaViT(arch=dict(ARCH), drloc_weight=0.1)
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


def test_foreign_layout_is_refused(tmp_path):
    # an official-PVT-layout key set: nothing in common with ours
    torch.save({'patch_embed1.proj.weight': torch.zeros(64, 3, 4, 4),
                'block1.0.attn.q.weight': torch.zeros(64, 64)}, tmp_path / 'pvt.pth')
    with pytest.raises(ValueError, match='shares no key.*tools/convert_weights.py'):
        load_pretrained(LaViT(arch=dict(ARCH)), str(tmp_path / 'pvt.pth'))


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
