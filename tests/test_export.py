"""ONNX export (lavit_mm/apis/export.py, tools/export_onnx.py): backbones, and RetinaNet and
Semantic FPN up to their raw outputs, exported once with dynamic H/W, then run in onnxruntime
at the export size and at another size (not a multiple of 32), match PyTorch within ATOL; bad
inputs raise, naming problem and fix.

Needs onnx and onnxruntime: without them this module fails to import with the install
command (an error, never a skip)."""
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F

from lavit_mm.apis.export import require_onnx

onnx, onnxruntime = require_onnx()  # ImportError naming `pip install lavit_mm[export]`

from lavit_mm.apis.export import (ExportTarget, build_target, check_sizes,  # noqa: E402
                                  export_and_check, export_many, export_onnx,
                                  load_checkpoint_strict,
                                  parse_size, perturb_identity_init, traceable_upsampling,
                                  wrap_task_model)
from lavit_mm.models import PVT, LaViT, Swin  # noqa: E402
from lavit_mm.models.checkpoint import checkpoint_filter_fn  # noqa: E402
from lavit_mm.models.layers.attention_state import adaptive_avg_pool2d_traceable  # noqa: E402
from tests.helpers import build_narrow, narrow_arch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ATOL = 1e-4  # max abs difference ONNX vs PyTorch (float32; measured ~1e-6)
EXPORT_SIZE, OTHER_SIZE = (64, 64), (40, 56)  # (H, W); 40x56 is not a multiple of 32
STAGES = ['stage1', 'stage2', 'stage3', 'stage4']


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """One torch (and so onnxruntime) thread: as fast for these tiny models, and on a busy
    machine 2-4x faster than threads that contend with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def narrow_backbone(name: str) -> torch.nn.Module:
    """A narrow backbone with its identity/zero-initialised parameters (LA transforms, the
    cross-stage map) perturbed, so the check covers what they compute. The 'sra' position
    tables are defined for 64 px, the export size (the case where eager PyTorch skips the
    resize)."""
    plain = dict(depths=[2, 2, 2, 2], num_va=[2, 2, 2, 2])  # all VA (Swin: plain + shifted)
    if name == 'pvt':
        model = build_narrow(PVT, arch=narrow_arch('sra', **plain), pretrain_img_size=64)
    elif name == 'swin':
        model = build_narrow(Swin, arch=narrow_arch('window', **plain))
    elif name == 'lavit_sra':
        model = build_narrow(LaViT, pretrain_img_size=64)
    elif name == 'lavit_sra_ks2':
        model = build_narrow(LaViT, less_attention=dict(key_stride=2))
    else:
        model = build_narrow(LaViT, attention='window')
    perturb_identity_init(model)
    return model


def assert_dynamic_hw(path: str) -> None:
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


# ------------------------------------------------------------------ exports that match
SMALL = (20, 28)  # maps below the reduction ratio / window in the first stages: padded
BACKBONE_SIZES = {  # the first is the export size
    'lavit_sra': [EXPORT_SIZE, OTHER_SIZE, SMALL],
    'lavit_window': [EXPORT_SIZE, OTHER_SIZE],  # 40x56: 10x14 tokens padded to 14x14
    'pvt': [EXPORT_SIZE, OTHER_SIZE],
    'swin': [EXPORT_SIZE, OTHER_SIZE],
    # exported where stage 2's VA key grid (1x1) equals its coarse grid, so that the size
    # alone cannot tell the trace the LA layer's Theta stride (SRLessAttention.theta_stride)
    'lavit_sra_ks2': [OTHER_SIZE, EXPORT_SIZE],
}


@pytest.mark.parametrize('name', sorted(BACKBONE_SIZES))
def test_backbone_export_matches_onnxruntime_at_two_sizes(name, tmp_path):
    model = narrow_backbone(name)
    if name == 'lavit_sra':  # the cross-stage residual is on and no longer zero
        assert model.stages[1].cross_stage.query_map.abs().sum() > 0
    sizes = BACKBONE_SIZES[name]
    result = export_and_check(ExportTarget(name, model, model), sizes, str(tmp_path), runs=0,
                              batch=2)
    assert result.export_size == sizes[0] and result.opset == 17
    assert_dynamic_hw(result.path)
    assert [c.size for c in result.checks] == sizes
    for check in result.checks:
        assert check.names == STAGES
        assert max(check.max_abs_diff) < ATOL, (check.size, check.max_abs_diff)


NARROW = narrow_arch('sra')
WHOLE_MODELS = {  # config: (narrowing overrides, output names, shape of the first at 40x56)
    'retinanet_lavit_t_synthetic': (
        {'model.neck.in_channels': NARROW['embed_dims'], 'model.neck.out_channels': 32,
         'model.bbox_head.in_channels': 32, 'model.bbox_head.feat_channels': 32},
        [f'{what}_{i}' for what in ('cls_score', 'bbox_pred') for i in range(5)],
        (2, 36, 5, 7)),  # P3: 9 anchors x 4 classes
    'semfpn_lavit_t_synthetic': (
        {'model.neck.in_channels': NARROW['embed_dims'], 'model.neck.out_channels': 16,
         'model.decode_head.in_channels': [16] * 4, 'model.decode_head.channels': 16},
        ['seg_logits'], (2, 5, 10, 14)),  # stride 4, 5 classes
}


@pytest.mark.parametrize('config', sorted(WHOLE_MODELS))
def test_task_model_raw_outputs_match(config, tmp_path):
    """RetinaNet up to its head (before anchors/NMS); Semantic FPN up to its logits (its
    upsampling is traced through traceable_upsampling)."""
    options, names, first_shape = WHOLE_MODELS[config]
    target = build_target(osp.join(ROOT, 'configs', 'demo', f'{config}.py'), perturb=True,
                          cfg_options={'model.backbone.arch': dict(NARROW, _delete_=True),
                                       **options})
    result = export_and_check(target, [EXPORT_SIZE, OTHER_SIZE], str(tmp_path), runs=0)
    assert_dynamic_hw(result.path)
    for check in result.checks:
        assert check.names == names
        assert max(check.max_abs_diff) < ATOL, (check.size, check.max_abs_diff)
    session = onnxruntime.InferenceSession(result.path, providers=['CPUExecutionProvider'])
    outs = session.run(None, {'input': torch.randn(2, 3, *OTHER_SIZE).numpy()})
    assert outs[0].shape == first_shape


def test_traceable_pooling_equals_adaptive_pooling():
    """The form the cross-stage residual exports with (down, up and odd size pairs)."""
    x = torch.randn(2, 3, 13, 7)
    for out_hw in [(7, 4), (5, 3), (1, 2), (13, 7), (26, 9), (2, 14)]:
        ref = F.adaptive_avg_pool2d(x, out_hw)
        assert torch.allclose(adaptive_avg_pool2d_traceable(x, out_hw), ref, atol=1e-6)


def test_traceable_upsampling_keeps_mmseg_outputs_bitwise():
    from mmseg.models.utils import Upsample
    original = Upsample.forward
    up = Upsample(scale_factor=2, mode='bilinear', align_corners=False)
    x = torch.randn(1, 4, 3, 5)
    ref = up(x)
    with traceable_upsampling():
        assert Upsample.forward is not original
        assert torch.equal(up(x), ref) and ref.shape == (1, 4, 6, 10)
    assert Upsample.forward is original


def test_cli_exports_checks_and_writes_table(tmp_path, capsys, monkeypatch):
    monkeypatch.syspath_prepend(osp.join(ROOT, 'tools'))
    from export_onnx import main
    spec = repr(dict(type='lavit_mm.LaViT', attention='window', arch=narrow_arch('window')))
    table = tmp_path / 'table.md'
    assert main([f'{spec}@64x64,40x56', '--runs', '1', '--threads', '1', '--out-dir',
                 str(tmp_path), '--table', str(table)]) == 0
    rows = [r for r in table.read_text().splitlines() if r.startswith('| LaViT |')]
    assert len(rows) == 2 and '| 64x64 | 40x56 |' in rows[1] and rows[1].endswith('| 17 |')
    assert '2/2' in capsys.readouterr().out  # the progress bar reached the end


# ------------------------------------------------------------------ bad input
def test_size_below_one_patch_is_refused(tmp_path):
    model = build_narrow(LaViT)
    target = ExportTarget('lavit', model, model)
    with pytest.raises(ValueError, match=r'2x2 is smaller than one 4x4 patch.*at least 4x4'):
        export_onnx(target, str(tmp_path / 'm.onnx'), (2, 2))
    with pytest.raises(ValueError, match=r'3x64 is smaller than one 4x4 patch'):
        export_and_check(target, [EXPORT_SIZE, (3, 64)], str(tmp_path), runs=0)
    assert not (tmp_path / 'lavit.onnx').exists()  # refused before exporting
    with pytest.raises(ValueError, match=r"'2y2' is not N or HxW"):
        parse_size('2y2')


def test_dense_la_maps_are_refused_by_name_and_windows_export(tmp_path):
    dense = LaViT(arch=narrow_arch('sra'),
                  less_attention=dict(transform='dense', map_size=64)).eval()
    target = ExportTarget('dense', dense, dense)
    with pytest.raises(ValueError, match="la_transform='dense' maps .* export a model with "
                                         "la_transform='local'"):
        export_and_check(target, [EXPORT_SIZE], str(tmp_path), runs=0)
    assert not (tmp_path / 'dense.onnx').exists()
    window = LaViT(arch=narrow_arch('window'), attention='window',
                   less_attention=dict(init='linear')).eval()
    check_sizes(ExportTarget('window', window, window), [EXPORT_SIZE])  # fixed window maps


def test_checkpoint_of_another_model_is_refused(tmp_path):
    path = str(tmp_path / 'swin.pth')
    swin = build_narrow(Swin, arch=narrow_arch('window', num_va=[2, 3, 3, 2]))
    torch.save({'state_dict': swin.state_dict()}, path)
    lavit = build_narrow(LaViT)
    adapted = checkpoint_filter_fn(swin.state_dict(), lavit)  # what the loader compares
    missing = len([k for k in lavit.state_dict() if k not in adapted
                   and not k.endswith('dp_step')])
    unexpected = len([k for k in adapted if k not in lavit.state_dict()])
    assert missing and unexpected
    with pytest.raises(ValueError, match=rf'does not fit LaViT: {missing} missing keys .*'
                                         rf'{unexpected} unexpected keys.*another model'):
        load_checkpoint_strict(lavit, path)


def test_matching_whole_model_checkpoint_loads_for_backbone_export(tmp_path):
    path = str(tmp_path / 'lavit.pth')
    source = narrow_backbone('lavit_sra')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    spec = repr(dict(type='lavit_mm.LaViT', arch=narrow_arch('sra'), pretrain_img_size=64))
    target = build_target(spec, checkpoint=path, seed=5)  # another initialisation first
    x = torch.randn(1, 3, *OTHER_SIZE)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(target.module(x), source(x)))


def test_missing_onnxruntime_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import fails as if absent
    with pytest.raises(ImportError, match=r'onnxruntime is not installed.*pip install '
                                          r'lavit_mm\[export\].*pip install onnx onnxruntime'):
        require_onnx()
    model = build_narrow(LaViT)
    with pytest.raises(ImportError, match=r'pip install lavit_mm\[export\]'):
        export_onnx(ExportTarget('lavit', model, model), str(tmp_path / 'm.onnx'), EXPORT_SIZE)


def test_two_stage_detector_and_many_checkpoints_are_refused(tmp_path):
    two_stage = torch.nn.Module()
    two_stage.bbox_head, two_stage.roi_head = torch.nn.Identity(), torch.nn.Identity()
    with pytest.raises(NotImplementedError, match='use mmdeploy'):
        wrap_task_model(two_stage)
    with pytest.raises(ValueError, match='a checkpoint fits one model and 2 were given'):
        export_many([('lavit_t', [EXPORT_SIZE]), ('pvt_t', [EXPORT_SIZE])], str(tmp_path),
                    checkpoint='x.pth')
