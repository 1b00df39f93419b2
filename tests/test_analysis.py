"""The benchmark and attention-analysis tools: what they measure is what they claim.

No timing is asserted (speed is the benchmark's output, not a test); the tests check the
measurements' bookkeeping (FLOPs, memory accounting, interleaving, table/CSV) and the
attention measures on constructed cases with known answers.
"""
import csv
import importlib.util
import io
import math
import statistics

import pytest
import torch
from PIL import Image

from lavit_mm_lab import attention as A
from lavit_mm_lab.complexity import count_params
from lavit_mm_lab.benchmark import (count_flops, parse_shape, peak_step_memory, ratio,
                                    run_benchmark, to_csv, to_markdown)
from lavit_mm.models import LaViT, Swin
from lavit_mm.models.model_spec import build_backbone, parse_model_spec

from tests.helpers import NARROW_ARCH, narrow_arch

NARROW = NARROW_ARCH['sra']
NARROW_SPEC = repr(dict(type='lavit_mm.LaViT', arch=NARROW))
# two stages, VA then LA in the second: what the compiled rows trace, in a fraction of the time
SMALL_SPEC = repr(dict(type='lavit_mm.LaViT', out_indices=(1, ), arch=dict(
    embed_dims=[16, 32], depths=[1, 2], num_heads=[1, 2], mlp_ratios=[2, 2], sr_ratios=[2, 1],
    num_va=[1, 1])))


def test_model_specs_and_shapes():
    assert parse_model_spec('pvt_s')[1] == dict(type='lavit_mm.PVT', arch='small')
    name, cfg = parse_model_spec('lavit_s+less_attention.key_stride=2,with_cp=True')
    assert cfg['less_attention'] == dict(key_stride=2) and cfg['with_cp'] is True
    assert cfg['arch'] == 'small'
    assert parse_model_spec("dict(type='lavit_mm.PVT', arch='tiny')")[1]['arch'] == 'tiny'
    assert parse_model_spec('configs/retinanet_lavit_s.py')[1]['type'] == 'lavit_mm.LaViT'
    with pytest.raises(ValueError, match='unknown model .*pvt_s'):
        parse_model_spec('pvt_small')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        parse_model_spec('configs/nope.py')
    assert parse_shape('800x1333') == (800, 1333) and parse_shape('224') == (224, 224)
    with pytest.raises(ValueError, match='HxW'):
        parse_shape('800*1333')


def test_peak_memory_counts_what_a_step_allocates():
    def step():
        a = torch.ones(4 * 2 ** 20 // 4)  # 4 MiB
        b = torch.ones(8 * 2 ** 20 // 4)  # 8 MiB, both alive: 12 MiB
        del a, b
        torch.ones(2 * 2 ** 20 // 4)  # 2 MiB after the peak
    peak = peak_step_memory(step, torch.device('cpu'))
    assert 12 <= peak < 12.5


def test_benchmark_rows_table_and_csv(tmp_path):
    pvt_arch = {k: v for k, v in NARROW.items() if k != 'num_va'}  # all VA
    messages = []
    rows, peak = run_benchmark([NARROW_SPEC, 'pvt_t+arch=' + repr(pvt_arch)],
                               shapes=['64x96'], warmup=1, repeats=2, with_cp_rows=True,
                               log=messages.append)
    assert messages[1].startswith('[1/1] input 64x96: 4 models')  # progress, after the peak
    names = [r.model for r in rows]
    assert len(names) == 4 and names[1] == names[0] + ' (with_cp)'
    plain, cp, pvt, _ = rows
    model = build_backbone(parse_model_spec(NARROW_SPEC)[1])
    assert plain.gflops == pytest.approx(count_flops(model, (64, 96)) / 1e9)
    assert plain.params_m == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    for r in (plain, pvt):
        assert len(r.forward_runs) >= 2 and r.forward_ms == statistics.median(r.forward_runs)
        assert len(r.train_runs) == 1 and r.train_ms == r.train_runs[0]  # repeats // 2 rounds
        assert r.achieved_gflops_per_s == pytest.approx(2 * r.gflops / (r.forward_ms / 1e3))
    assert cp.forward_ms is None and cp.train_ms is not None and cp.train_peak_mb is not None
    assert ratio(rows, plain.model, pvt.model, '64x96', 'gflops') == pytest.approx(
        plain.gflops / pvt.gflops)
    table = to_markdown(rows, peak)
    assert table.count('\n| ') == 5  # header + 4 rows
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows, peak))))
    assert [p['model'] for p in parsed] == names
    assert float(parsed[0]['gflops']) == pytest.approx(plain.gflops, rel=1e-3)


def test_benchmark_builds_mmdet_references():
    model = build_backbone(parse_model_spec('mmdet_pvt_t')[1])
    assert type(model).__name__ == 'PyramidVisionTransformer'
    # mmdet's PVT-T goes through the same counter as ours: the same network, the same FLOPs
    ours = build_backbone(parse_model_spec('pvt_t')[1])
    assert count_flops(model, (64, 64)) == pytest.approx(count_flops(ours, (64, 64)), rel=0.02)


@pytest.mark.parametrize('ours, theirs, output_norms', [
    ('pvtv2_b0', 'timm_pvtv2_b0', 0),  # both norm every stage's output
    ('swin_t', 'timm_swin_t', 96 + 192 + 384 + 768),  # ours (as mmdet's) norms each output
])
def test_timm_rows_are_the_same_networks_as_ours(ours, theirs, output_norms):
    """timm's models in the benchmark (``timm.<name>``, features only) have our parameters,
    our output maps at an odd size (timm's Swin padded as ours pads) and our FLOPs at 224
    (at sizes off the 7x7 windows timm's Swin pads inside each block and counts more)."""
    a, b = (build_backbone(parse_model_spec(n)[1]).eval() for n in (ours, theirs))
    assert type(b.model).__module__.startswith('timm.')
    assert count_params(a) - count_params(b) == 2 * output_norms
    with torch.no_grad():
        x = torch.randn(1, 3, 61, 97)
        assert [o.shape for o in a(x)] == [o.shape for o in b(x)]
    assert count_flops(b, (224, 224)) == pytest.approx(count_flops(a, (224, 224)), rel=1e-3)
    rows, _ = run_benchmark([theirs], shapes=['32'], warmup=1, repeats=1, flops=False,
                            log=lambda *_: None)
    assert [r.model for r in rows] == [theirs] and rows[0].train_ms > 0


def probs_layer(probs, kind='VA', hw_k=(2, 2)):
    B, h, Q, _ = probs.shape
    return A.LayerAttention(0, 0, kind, probs, (1, Q), hw_k, torch.arange(Q))


def test_cross_layer_similarity_on_known_maps():
    eye = torch.eye(4).view(1, 1, 4, 4)
    shifted = eye.roll(1, dims=-1)
    sim = A.cross_layer_similarity([probs_layer(eye), probs_layer(eye.clone()),
                                    probs_layer(shifted)])
    assert sim[0, 1] == pytest.approx(1.0) and sim[0, 2] == pytest.approx(0.0)
    assert torch.equal(sim, sim.T) and torch.equal(sim.diagonal(), torch.ones(3))
    uniform = torch.full((1, 1, 4, 4), 0.25)
    assert A.cross_layer_similarity([probs_layer(eye), probs_layer(uniform)])[0, 1] == \
        pytest.approx(0.5)  # each column of eye (one 1) vs uniform (four 1/4): 1/2
    # a coarser LA key grid: the finer map is summed onto it first
    fine = torch.zeros(1, 1, 1, 16)
    fine[..., [0, 1, 4, 5]] = 0.25  # all mass in the top-left 2x2 cell of a 4x4 grid
    coarse = torch.tensor([1., 0, 0, 0]).view(1, 1, 1, 4)
    pooled = A._sum_to_grid(fine, (4, 4), (2, 2))
    assert torch.equal(pooled, coarse)
    sim = A.cross_layer_similarity([probs_layer(fine, hw_k=(4, 4)),
                                    probs_layer(coarse, 'LA', hw_k=(2, 2))])
    assert sim[0, 1] == pytest.approx(1.0)


def test_normalized_entropy_tells_uniform_from_selective_attention():
    uniform = torch.full((1, 1, 4, 4), 0.25)
    assert A.normalized_entropy(probs_layer(uniform)) == pytest.approx(1.0)
    assert A.normalized_entropy(probs_layer(torch.eye(4).view(1, 1, 4, 4))) == \
        pytest.approx(0.0, abs=1e-6)
    window_row = torch.zeros(1, 1, 1, 16)
    window_row[..., :4] = 0.25  # uniform over the 4 keys a window query can see
    assert A.normalized_entropy(probs_layer(window_row, hw_k=(4, 4))) == pytest.approx(1.0)


def test_cross_head_similarity():
    probs = torch.stack([torch.eye(3), torch.eye(3), torch.eye(3).roll(1, -1)])[None]
    sim = A.cross_head_similarity(probs_layer(probs))
    assert sim[0, 1] == pytest.approx(1.0) and sim[0, 2] == pytest.approx(0.0)


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_collected_attention_is_complete_and_la_starts_as_its_va(attention):
    torch.manual_seed(0)
    if attention == 'sra':
        model = LaViT(arch=dict(NARROW), less_attention=dict(key_stride=1)).eval()
    else:
        arch = {k: v for k, v in NARROW.items() if k != 'sr_ratios'}
        model = LaViT(arch=arch, attention='window', window_size=4).eval()
    stages = A.collect_attention(model, torch.randn(2, 3, 64, 96), max_queries=50)
    assert [len(s) for s in stages] == NARROW['depths']
    for layers in stages:
        for a in layers:
            assert a.probs.shape[2] == min(50, a.hw_q[0] * a.hw_q[1])
            torch.testing.assert_close(a.probs.sum(-1), torch.ones(a.probs.shape[:3]))
        sim = A.cross_layer_similarity(layers)
        for j, a in enumerate(layers):
            if a.kind == 'LA':  # identity-initialised: the same maps as the layer before
                assert sim[j - 1, j] == pytest.approx(1.0, abs=1e-5)


def test_window_rows_land_in_the_query_window_with_shift_undone():
    torch.manual_seed(0)
    model = Swin(arch=dict(embed_dims=[16, 32, 48, 64], depths=[2, 2, 2, 2],
                           num_heads=[1, 2, 3, 4], mlp_ratios=[2, 2, 2, 2]),
                 window_size=4).eval()
    stages = A.collect_attention(model, torch.randn(1, 3, 64, 64))
    plain, shifted = stages[0]  # 16 x 16 grid, windows of 4, shift 2
    W = 16
    for layer, shift in ((plain, 0), (shifted, 2)):
        q = 5 * W + 6  # row 5, col 6
        row = layer.probs[0, 0, q].view(16, 16)
        rr, cc = (5 - shift) % 16 // 4 * 4, (6 - shift) % 16 // 4 * 4
        inside = torch.zeros(16, 16, dtype=torch.bool)
        ys = [(rr + i + shift) % 16 for i in range(4)]
        xs = [(cc + i + shift) % 16 for i in range(4)]
        inside[torch.tensor(ys)[:, None], torch.tensor(xs)[None]] = True
        assert row[inside].sum() == pytest.approx(1.0) and row[~inside].abs().sum() == 0
        assert A.query_attention_map(layer, (5.5 / 16, 6.5 / 16)).shape == (16, 16)


def test_analyze_attention_tool_end_to_end(tmp_path):
    import matplotlib.image as mpimg

    spec = importlib.util.spec_from_file_location('analyze_attention',
                                                  'tools/analyze_attention.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    main = tool.main
    for i in range(2):
        Image.new('RGB', (80, 60), (40 * i, 100, 200)).save(tmp_path / f'img{i}.png')
    out = tmp_path / 'out'
    assert main(['--model', 'lavit_t', 'swin_t', '--labels', 'L', 'S', '--images',
                 str(tmp_path), '--size', '64', '64', '--out-dir', str(out)]) == 0
    for png in ('cross_layer_similarity', 'adjacent_layer_similarity',
                'cross_head_similarity', 'attention_overlays'):
        image = mpimg.imread(out / f'{png}.png')
        assert image.shape[0] > 100 and image.std() > 0
    rows = list(csv.DictReader(open(out / 'attention_similarity.csv')))
    depths = LaViT.arch_zoo['tiny']['depths'] + Swin.arch_zoo['tiny']['depths']
    pairs = sum(d * (d - 1) // 2 for d in depths)
    assert sum(r['measure'] == 'cross_layer' for r in rows) == pairs
    assert sum(r['measure'] == 'cross_head_mean' for r in rows) == 8 + 12
    entropy = [float(r['value']) for r in rows if r['measure'] == 'entropy_ratio']
    assert len(entropy) == 8 + 12 and all(0 < e <= 1 + 1e-6 for e in entropy)
    with pytest.raises(SystemExit, match='expose no attention'):
        main(['--model', 'mmdet_pvt_t', '--images', str(tmp_path), '--out-dir', str(out)])


def test_peak_memory_is_not_shifted_by_memory_freed_between_measurements():
    kept = []

    def step():  # leaves 8 MiB alive, freed later outside any measurement
        kept.append(torch.ones(8 * 2 ** 20 // 4))
        torch.ones(4 * 2 ** 20 // 4)
    first = peak_step_memory(step, torch.device('cpu'))
    kept.clear()
    second = peak_step_memory(step, torch.device('cpu'))
    assert 12 <= first < 12.5 and second == pytest.approx(first, abs=0.5)


def test_latency_ratio_is_the_median_of_paired_rounds():
    from lavit_mm_lab.benchmark import Row
    a = Row('a', '64', 1.0, forward_ms=2.0, forward_runs=[1.0, 2.0, 10.0])
    b = Row('b', '64', 1.0, forward_ms=2.0, forward_runs=[2.0, 4.0, 20.0])  # drift: x10
    assert ratio([a, b], 'a', 'b', '64', 'forward_ms') == pytest.approx(0.5)
    assert ratio([a, b], 'a', 'missing', '64', 'forward_ms') is None


def test_benchmark_ratio_table_gives_the_median_and_range_of_the_rounds():
    from lavit_mm_lab.benchmark import Row
    spec = importlib.util.spec_from_file_location('benchmark_tool', 'tools/benchmark.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ours = Row('pvtv2_b2', '224', 1.0, forward_ms=3.0, forward_runs=[3.0, 2.0, 9.0],
               gflops=2.0)
    timm = Row('timm_pvtv2_b2', '224', 1.0, forward_ms=4.0, forward_runs=[4.0, 4.0, 10.0],
               gflops=2.0)
    summary = [('ours / timm forward', 'pvtv2_b2', 'timm_pvtv2_b2', 'forward_ms'),
               ('ours / timm FLOPs', 'pvtv2_b2', 'timm_pvtv2_b2', 'gflops')]
    table = tool.ratio_table(summary, [ours, timm], ['224'], '')
    assert '| ours / timm forward | 224 | 0.75x | 0.50-0.90x (3 rounds) |' in table
    assert '| ours / timm FLOPs | 224 | 1.00x | - |' in table


def test_benchmark_mixed_precision_rows_run_under_autocast():
    """bf16 rows: named ``model [bf16]``, their linear layers compute in bf16 (autocast, as
    mmengine's AmpOptimWrapper), the training step runs; an unknown precision is refused."""
    from lavit_mm_lab.benchmark import check_precision, train_step_fns
    model = build_backbone(parse_model_spec(NARROW_SPEC)[1])
    seen = []
    model.stages[0].blocks[0].attn.proj.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    step, _ = train_step_fns(model, torch.randn(1, 3, 32, 32), 'bf16')
    step()
    assert seen == [torch.bfloat16]
    rows, _ = run_benchmark([NARROW_SPEC], shapes=['32'], warmup=1, repeats=2, flops=False,
                            log=lambda m: None, precision='bf16')
    assert rows[0].model.endswith(' [bf16]') and rows[0].train_ms > 0
    assert 'bf16 matmul peak' in to_markdown(rows, 1.)
    with pytest.raises(ValueError, match="precision 'fp8'"):
        check_precision('fp8')


def test_benchmark_compiled_rows_are_the_same_network_compiled():
    """``[compiled]`` rows: the model compiled in place (dynamo traced it), its FLOPs those of
    the eager row, its outputs equal to the eager model's."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()  # reset() keeps them: earlier tests' graphs would count
    rows, _ = run_benchmark([SMALL_SPEC], shapes=['32x48'], warmup=1, repeats=2,
                            log=lambda m: None, compile_options=dict(backend='aot_eager'))
    eager, compiled = rows
    assert compiled.model == eager.model + ' [compiled]'
    assert compiled.gflops == eager.gflops and compiled.params_m == eager.params_m
    assert compiled.forward_ms > 0 and compiled.train_ms > 0
    assert counters['stats']['unique_graphs'] > 0
    model = build_backbone(parse_model_spec(SMALL_SPEC)[1]).eval()
    twin = build_backbone(parse_model_spec(SMALL_SPEC)[1]).eval()
    twin.load_state_dict(model.state_dict())
    twin.compile(backend='aot_eager')
    x = torch.randn(1, 3, 32, 48)
    for a, b in zip(model(x), twin(x)):
        torch.testing.assert_close(b, a)


@pytest.mark.slow
def test_detector_rows_swap_the_backbone_and_time_the_whole_train_step():
    from lavit_mm_lab.detector_benchmark import (detector_config, detector_markdown,
                                                 run_detector_benchmark)
    lavit = dict(type='lavit_mm.LaViT', arch=NARROW)
    cfg = detector_config('configs/retinanet_lavit_s.py', lavit)
    assert cfg.model.neck.in_channels == NARROW['embed_dims']
    assert detector_config('configs/retinanet_lavit_s.py', parse_model_spec(
        'mmdet_swin_t')[1]).model.neck.in_channels == [96, 192, 384, 768]
    with pytest.raises(ValueError, match='needs a model with a neck'):
        detector_config('configs/lavit_t_in1k.py', lavit)
    rows = run_detector_benchmark([NARROW_SPEC, 'pvt_t+arch=' + repr(
        {k: v for k, v in NARROW.items() if k != 'num_va'})], shapes=['64x96'], batch=2,
        repeats=2, log=lambda m: None)
    lavit, pvt = rows
    # the whole detector: more parameters than the backbone (FPN + RetinaNet head)
    backbone = build_backbone(parse_model_spec(NARROW_SPEC)[1])
    assert lavit.params_m > sum(p.numel() for p in backbone.parameters()) / 1e6 + 1
    for r in rows:
        assert len(r.train_runs) == 2 and r.train_ms == statistics.median(r.train_runs)
        assert r.images_per_s == pytest.approx(2 / (r.train_ms / 1e3))
        assert r.train_peak_mb > 0
    paired = statistics.median(a / b for a, b in zip(lavit.train_runs, pvt.train_runs))
    assert ratio(rows, lavit.model, pvt.model, '64x96', 'train_ms') == \
        pytest.approx(paired)
    assert detector_markdown(rows, 'cfg', 2).count('\n| ') == 3


def _similarity_rows(name, adjacent, entropy, kinds):
    """Rows as ``similarity_rows`` writes them, for one stage of len(entropy) layers."""
    rows = [dict(model=name, measure='cross_layer', stage=1, layer=n, other_layer=n + 1,
                 kind=kinds[n - 1], other_kind=kinds[n], value=v)
            for n, v in enumerate(adjacent, start=1)]
    rows += [dict(model=name, measure='entropy_ratio', stage=1, layer=n, other_layer='',
                  kind=kinds[n - 1], other_kind='', value=v)
             for n, v in enumerate(entropy, start=1)]
    return rows


def test_attention_over_seeds_groups_labels_and_takes_mean_and_std(tmp_path):
    from lavit_mm_lab.attention_seeds import summarize_over_seeds
    kinds = ['VA', 'VA', 'LA']
    rows = (_similarity_rows('A/0', [0.2, 0.9], [0.5, 0.6, 1.0], kinds)
            + _similarity_rows('A/1', [0.4, 0.7], [0.7, 0.6, 0.9], kinds)
            + _similarity_rows('B/0', [0.1, 0.3], [0.4, 0.4, 0.4], ['VA'] * 3))
    summary = {(r['model'], r['layer']): r for r in summarize_over_seeds(rows)}
    assert summary[('A', 1)]['adjacent'] is None  # a stage's first layer has no l-1
    mean, std = summary[('A', 3)]['adjacent']
    assert (mean, std) == (pytest.approx(0.8), pytest.approx(0.1414, abs=1e-4))
    assert summary[('A', 2)]['entropy'] == (pytest.approx(0.6), pytest.approx(0.0))
    assert summary[('A', 3)]['kind'] == 'LA' and summary[('B', 3)]['kind'] == 'VA'
    assert summary[('A', 3)]['seeds'] == ['0', '1']
    assert summary[('B', 2)]['adjacent'][0] == pytest.approx(0.1)
    assert math.isnan(summary[('B', 2)]['adjacent'][1])  # one seed: no spread
    with pytest.raises(ValueError, match='NAME/SEED'):
        summarize_over_seeds(_similarity_rows('A', [0.2], [0.5, 0.6], kinds))
    deeper = _similarity_rows('A/2', [0.2, 0.9, 0.5], [0.5, 0.6, 1.0, 1.0], kinds + ['LA'])
    with pytest.raises(ValueError, match='same model'):
        summarize_over_seeds(rows + deeper)


def test_attention_over_seeds_tool_prints_the_table_and_plots(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'attention_over_seeds', 'tools/analysis/attention_over_seeds.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    rows = (_similarity_rows('A/0', [0.2, 0.9], [0.5, 0.6, 1.0], ['VA', 'VA', 'LA'])
            + _similarity_rows('A/1', [0.4, 0.7], [0.7, 0.6, 0.9], ['VA', 'VA', 'LA']))
    path = tmp_path / 'sim.csv'
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot = tmp_path / 'over_seeds.png'
    assert tool.main([str(path), '--layers', '3', '--plot', str(plot)]) == 0
    out = capsys.readouterr().out
    assert '| A | 0 1 | 0.80 ± 0.14* | 0.95 ± 0.07* |' in out
    assert plot.stat().st_size > 1000


@pytest.mark.parametrize('which', ['sra', 'window', 'plain'])
def test_analysis_never_changes_the_model(which):
    """Every analysis entry point on a model in training mode (a frozen stage in eval mode
    inside it, re-attention's BatchNorm, LSA): its state, dtypes and every module's training
    flag are what they were."""
    from lavit_mm_lab import count_flops, count_params
    from lavit_mm_lab.attention import (collect_attention, cross_head_similarity,
                                        dp_diagnosis, normalized_entropy,
                                        query_attention_map, similarity_rows)
    from lavit_mm.models import LaViT, LaViTPlain
    from tests.helpers import narrow_arch
    torch.manual_seed(0)
    if which == 'plain':
        model = LaViTPlain(arch=dict(embed_dims=32, num_layers=4, num_heads=2,
                                     feedforward_channels=64),
                           img_size=32, patch_size=4, frozen_stages=1,
                           less_attention=dict(layers='2va+2la'),
                           remedies=dict(reattention=True, lsa=True))
    else:
        model = LaViT(arch=narrow_arch(which), attention=which, frozen_stages=1,
                      remedies=dict(reattention=True, lsa=True))
    model.init_weights()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = {name: m.training for name, m in model.named_modules()}
    assert len(set(modes.values())) == 2  # a frozen part in eval mode, the rest training
    images = torch.randn(2, 3, 32, 32)
    stages = collect_attention(model, images)
    similarity_rows('m', stages)
    layer = next(layer for layers in stages for layer in layers)
    cross_head_similarity(layer), normalized_entropy(layer)
    query_attention_map(layer, (0.5, 0.5))
    dp_diagnosis(model, images)
    count_params(model), count_flops(model, (32, 32))
    after = model.state_dict()
    assert before.keys() == after.keys()
    for k, v in before.items():
        assert after[k].dtype == v.dtype and torch.equal(after[k], v), k
    assert {name: m.training for name, m in model.named_modules()} == modes


def test_the_dp_loss_profile_times_every_la_layer_by_grid():
    """tools/analysis/profile_dp_loss.py's rows: one per LA grid, every LA layer counted once,
    and the profile leaves no gradients behind."""
    from lavit_mm_lab.dp_profile import dp_loss_parts
    torch.manual_seed(0)
    model = LaViT(arch=narrow_arch()).train()
    parts = dp_loss_parts(model, torch.randn(1, 3, 64, 96))
    assert sum(n for n, *_ in parts.values()) == len(model.la_layers)
    assert set(parts) == {'8x12', '4x6', '2x3'}  # stages 2-4 at strides 8, 16, 32
    assert all(p.grad is None for p in model.parameters())
