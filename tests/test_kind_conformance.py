"""What every attention kind must support, run on every registered kind and on one defined
here from public building blocks only (a kind is one file: nothing outside it knows it):
build from a named preset, forward at odd sizes, a training step with LA layers whose DP loss
reaches only the LA transforms, the attention analysis, layer depths for lr decay, and ONNX
export matched by onnxruntime."""
import math

import pytest
import torch

from lavit_mm.models import LaViT
from lavit_mm.models.layers import (ATTENTION_KINDS, AttentionKind, LayerOptions,
                                    register_attention_kind)
from lavit_mm.models.layers.plain import GlobalAttention, GlobalLessAttention
from lavit_mm_lab.attention import collect_attention, cross_layer_similarity
from tests.helpers import narrow_arch


class TestGlobalKind(AttentionKind):
    """Every token of a stage attends to every other (ViT's attention per stage), VA and LA."""
    __test__ = False  # not a pytest class
    name = 'test-conformance-global'
    Options = LayerOptions  # VA and LA layer options (LSA, re-attention, la_init, ...)
    lavit_presets = {'narrow': narrow_arch('window')}  # VA then LA layers in every stage

    def vanilla(self, args, stage, index):
        return GlobalAttention(args, prefix=0)

    def less(self, args, stage, index):
        return GlobalLessAttention(args, prefix=0)


BUILT_IN = sorted(ATTENTION_KINDS)  # the kinds lavit_mm registers
PRESETS = {'sra': narrow_arch('sra'), 'window': narrow_arch('window'),
           TestGlobalKind.name: 'narrow'}
ODD_SIZES = [(37, 53), (9, 11)]


@pytest.fixture(params=BUILT_IN + [TestGlobalKind.name])
def kind(request):
    if request.param == TestGlobalKind.name:
        register_attention_kind(TestGlobalKind)
        yield request.param
        del ATTENTION_KINDS[TestGlobalKind.name]
    else:
        yield request.param


def build(kind: str) -> LaViT:
    torch.manual_seed(0)
    model = LaViT(arch=PRESETS[kind], attention=kind)
    model.init_weights()
    return model


def test_every_built_in_kind_is_in_the_conformance_run():
    assert set(BUILT_IN) <= set(PRESETS) and len(BUILT_IN) >= 2


def test_build_and_forward_at_odd_sizes(kind):
    model = build(kind).eval()
    assert model.la_layers, 'the preset has LA layers'
    for h, w in ODD_SIZES:
        with torch.no_grad():
            outs = model(torch.randn(2, 3, h, w))
        sizes, expected = [(h, w)], []
        for spec in model.stage_specs:
            sizes.append(tuple(math.ceil(s / spec.patch_size) for s in sizes[-1]))
            expected.append((2, spec.embed_dims, *sizes[-1]))
        assert [tuple(o.shape) for o in outs] == expected
        assert all(torch.isfinite(o).all() for o in outs)


def _is_transform(name: str) -> bool:
    return any(part in name.split('.') for part in ('theta', 'psi', 'head_mix'))


def test_a_training_step_with_la_layers_and_the_dp_loss(kind):
    """The task loss trains every parameter; the DP loss (on the attention each LA layer
    inherits, detached) reaches the LA layers' Theta/Psi and nothing else."""
    model = build(kind).train()
    outs = model(torch.randn(2, 3, 64, 96))
    losses = model.aux_losses()
    assert set(losses) == {'loss_dp'} and torch.isfinite(losses['loss_dp'])
    params = dict(model.named_parameters())
    dp_grads = torch.autograd.grad(losses['loss_dp'], list(params.values()), retain_graph=True,
                                   allow_unused=True)
    reached = {n for n, g in zip(params, dp_grads) if g is not None and g.abs().sum() > 0}
    la_maps = {n for n in params if _is_transform(n)}
    assert la_maps and reached and reached <= la_maps, sorted(reached - la_maps)
    (sum(o.mean() for o in outs) + losses['loss_dp']).backward()
    untouched = [n for n, p in params.items() if p.grad is None]
    assert not untouched, untouched
    assert int(model.dp_step) == 1


def test_the_attention_analysis_reads_every_layer(kind):
    model = build(kind).eval()
    stages = collect_attention(model, torch.randn(1, 3, 64, 96), max_queries=16)
    kinds = [layer.kind for layers in stages for layer in layers]
    assert kinds.count('LA') == len(model.la_layers) and 'VA' in kinds
    for layers in stages:
        for layer in layers:
            rows = layer.probs.sum(-1)  # every sampled query's probabilities over all keys
            torch.testing.assert_close(rows, torch.ones_like(rows), atol=1e-4, rtol=0)
        if len(layers) > 1:
            similarity = cross_layer_similarity(layers)
            assert similarity.shape == (len(layers), len(layers))
            assert torch.isfinite(similarity).all()


def test_layer_depths_count_blocks_through_the_stages(kind):
    model = build(kind)
    num = sum(s.depth for s in model.stage_specs) + 2
    before = 0
    for i, spec in enumerate(model.stage_specs):
        for j in range(spec.depth):
            for name, _ in model.stages[i].blocks[j].named_parameters():
                assert model.get_layer_depth(f'backbone.stages.{i}.blocks.{j}.{name}',
                                             'backbone.') == (before + j + 1, num), name
        before += spec.depth
    assert model.get_layer_depth('backbone.stages.0.patch_embed.proj.weight',
                                 'backbone.') == (0, num)
    assert model.get_layer_depth('neck.lateral_convs.0.conv.weight', 'backbone.') == \
        (num - 1, num)


def test_onnx_export_matches_onnxruntime_at_another_size(kind, tmp_path):
    from lavit_mm.apis.export import ExportTarget, export_and_check
    model = build(kind).eval()
    sizes = [(64, 96), (40, 56)]
    result = export_and_check(ExportTarget(kind, model, model), sizes, str(tmp_path), runs=0)
    assert [c.size for c in result.checks] == sizes
    for check in result.checks:
        assert max(check.max_abs_diff) < 1e-4, (check.size, check.max_abs_diff)
