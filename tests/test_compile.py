"""torch.compile: our backbones trace without graph breaks (training with the DP loss and the
remedies' options, and eval); a config's ``compile`` trains and tests through the real Runner
with the same losses and metrics as eager; the step-counter sampler the aux losses use."""
import math

import pytest
import torch
from torch._dynamo.utils import counters

from lavit_mm.apis import build_runner
from lavit_mm.engine.compile import compile_options
from lavit_mm.models import LaViT
from lavit_mm.models.layers.counter_random import counter_randint
from tests.helpers import build_narrow, demo_cfg
from tests.test_cuda import MODELS as CUDA_MODELS

CUDA = torch.cuda.is_available()

MODELS = {
    **CUDA_MODELS,  # LaViT sra/window/key stride 2, PVT, Swin: the narrow GPU-test models
    # every option of the remedies that can be combined, per kind
    'lavit_sra_remedies': lambda: build_narrow(LaViT, 'sra', remedies=dict(
        reattention=True, lsa=True, spt=True, drloc_weight=0.1, drloc_pairs=8)),
    'lavit_window_remedies': lambda: build_narrow(LaViT, 'window', window_size=4, remedies=dict(
        reattention=True, lsa=True, stage_types=('conv', 'attn', 'attn', 'attn'))),
}


@pytest.mark.parametrize('mode', ['train', 'eval'])
@pytest.mark.parametrize('name', sorted(MODELS))
def test_backbones_trace_without_graph_breaks(name, mode):
    """One graph for the whole forward, the aux losses of training included (the step
    counters stay tensors: no ``int(buffer)``, no CPU generator)."""
    model = getattr(MODELS[name](), mode)()
    torch._dynamo.reset()
    with torch.set_grad_enabled(mode == 'train'):  # eval as inference runs: no_grad
        explained = torch._dynamo.explain(model)(torch.randn(2, 3, 96, 128))
    assert explained.graph_break_count == 0, [str(b.reason)[:200]
                                              for b in explained.break_reasons]
    assert explained.graph_count == 1
    if mode == 'train' and hasattr(model, 'dp_step'):
        assert int(model.dp_step) == 1  # the traced forward advanced the counter once


# two stages, a VA and an LA layer in the second (the cross-stage residual, the DP loss): the
# layers a compiled LaViT traces, at a fraction of the demo model's tracing time
SMALL_CLASSIFIER = {
    'model.backbone.arch': dict(_delete_=True, embed_dims=[16, 32], depths=[1, 2],
                                num_heads=[1, 2], mlp_ratios=[2, 2], sr_ratios=[2, 1],
                                num_va=[1, 1]),
    'model.backbone.out_indices': (1, ), 'model.head.in_channels': 32}


def test_check_finite_is_the_one_documented_graph_break():
    """The debug option reads values on the host to name the bad samples (README): it breaks
    the graph by design; off by default."""
    arch = {k: v for k, v in SMALL_CLASSIFIER['model.backbone.arch'].items() if k != '_delete_'}
    breaks = {}
    for check_finite in (False, True):
        model = LaViT(arch=arch, out_indices=(1, ), check_finite=check_finite).eval()
        torch._dynamo.reset()
        breaks[check_finite] = torch._dynamo.explain(model)(
            torch.randn(1, 3, 64, 64)).graph_break_count
    assert breaks[False] == 0 and breaks[True] > 0, breaks


def test_counter_randint_is_a_function_of_the_seed_and_uniform():
    seed = torch.tensor(12345)
    a = counter_randint(seed, 10, (2, 3, 4))
    assert a.shape == (2, 3, 4) and a.dtype == torch.long
    assert torch.equal(a, counter_randint(torch.tensor(12345), 10, (2, 3, 4)))
    assert not torch.equal(a, counter_randint(torch.tensor(12346), 10, (2, 3, 4)))
    # 7 bins, 14000 draws over 2000 consecutive seeds (the backbone's steps): each bin
    # within 10% of 2000 (binomial sd ~41, so 10% is ~5 sd)
    draws = torch.cat([counter_randint(torch.tensor(s), 7, (7, )) for s in range(2000)])
    counts = torch.bincount(draws, minlength=7)
    assert counts.numel() == 7 and ((counts - 2000).abs() < 200).all(), counts
    # consecutive seeds are not correlated: the first draw of seed s vs seed s + 1
    first = torch.stack([counter_randint(torch.tensor(s), 2, ()) for s in range(2000)])
    assert abs((first[1:] == first[:-1]).float().mean().item() - 0.5) < 0.05
    with pytest.raises(ValueError, match='high must be >= 1'):
        counter_randint(seed, 0, (1, ))


@pytest.mark.skipif(not CUDA, reason='needs a CUDA device (GPU-only test)')
def test_counter_randint_is_the_same_on_cuda():
    seed = torch.tensor(987654321)
    assert torch.equal(counter_randint(seed.cuda(), 1000, (64, )).cpu(),
                       counter_randint(seed, 1000, (64, )))


def test_compile_option_is_read_as_mmengine_reads_it():
    assert compile_options({}) is None
    assert compile_options({'compile': False}) is None
    assert compile_options({'compile': True}) == {}
    assert compile_options({'compile': dict(backend='eager')}) == {'backend': 'eager'}
    with pytest.raises(TypeError, match='compile must be True, False or a dict'):
        compile_options({'compile': 'inductor'})


@pytest.mark.slow
def test_compiled_config_trains_and_tests_like_eager(imagenet_root, tmp_path, monkeypatch):
    """``compile=dict(backend='aot_eager')`` (dynamo + AOTAutograd, no code generation, so
    the test stays CPU-fast): mmengine compiles train_step, tools/test.py's runner compiles
    test_step; losses and top-1 equal eager's."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # as tools/test.py does
    results = {}
    for compiled in (False, True):
        work = tmp_path / ('compiled' if compiled else 'eager')
        cfg = demo_cfg('cls', imagenet_root, work, **{
            'model.backbone.drop_path_rate': 0.0, 'train_cfg.max_epochs': 2,
            'default_hooks.checkpoint.interval': 2, 'train_dataloader.sampler.shuffle': False},
            **SMALL_CLASSIFIER)
        if compiled:
            cfg.compile = dict(backend='aot_eager')
        torch._dynamo.reset()
        counters.clear()  # reset() keeps them: earlier tests' graphs would count
        runner = build_runner(cfg, 'train')
        runner.train()
        losses = [float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]]
        trained_graphs = counters['stats']['unique_graphs']
        cfg = demo_cfg('cls', imagenet_root, work, **SMALL_CLASSIFIER)
        if compiled:
            cfg.compile = dict(backend='aot_eager')
        torch._dynamo.reset()
        counters.clear()  # reset() keeps them: earlier tests' graphs would count
        tester = build_runner(cfg, 'test', checkpoint=str(work / 'epoch_2.pth'))
        metrics = tester.test()
        assert (trained_graphs > 0, counters['stats']['unique_graphs'] > 0) == (compiled, ) * 2
        results[compiled] = (losses, metrics)
    (eager_losses, eager_metrics), (losses, metrics) = results[False], results[True]
    assert len(losses) == len(eager_losses) >= 2 and all(math.isfinite(v) for v in losses)
    for a, b in zip(losses, eager_losses):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-5)
    assert metrics == pytest.approx(eager_metrics, abs=1e-6)
