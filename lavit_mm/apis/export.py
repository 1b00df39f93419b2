"""ONNX export of our backbones and of whole task models, checked in onnxruntime.

What is exported: a backbone (image -> its feature maps), or a task model built from a config
up to its raw outputs, before any post-processing:

- a single-stage detector (RetinaNet): backbone + neck + ``bbox_head.forward``: per FPN
  level, class scores (B, A*K, H_l, W_l), then box deltas (B, A*4, H_l, W_l); no anchor
  decoding, no score threshold, no NMS;
- a segmentor (EncoderDecoder, Semantic FPN): backbone + neck + ``decode_head.forward``:
  logits (B, K, H/4, W/4), not resized to the image, no argmax;
- a classifier (ImageClassifier): backbone + neck + head: logits (B, K), no softmax.

The input is the *preprocessed* batch (B, C, H, W): mean/std-normalised, in the channel
order of the model's data preprocessor; its batch, height and width are dynamic axes. What
mmdeploy adds on top (anchor decoding + NMS as ONNX ops or TensorRT plugins, the data
preprocessor and post-processing in its SDK pipeline, data-sample handling, per-backend deploy
configs with static/dynamic shape ranges) is in ``docs/export.md``.

Exporter: PyTorch's TorchScript-based ``torch.onnx.export(..., dynamo=False)`` at opset 17
(``F.scaled_dot_product_attention`` needs >= 14). The dynamo-based exporter, PyTorch's default
since 2.9, needs the ``onnxscript`` package, which is not part of our ``[export]`` extra, and
where we tried it, it specialised size branches (docs/export.md).

A trace records one path through the Python code, so a branch on a size is frozen at the
export size. The export is therefore checked at every requested size, one of them other than
the export size: the ONNX outputs must match PyTorch's there too.
"""
import importlib
import logging
import os
import os.path as osp
import pickle
import statistics
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger

from ..grid import parse_shape
from ..engine.config import build_model, load_config
from ..models.checkpoint import (LoadReport, checkpoint_filter_fn, extract_state_dict,
                                 verify_checkpoint_file)
from ..models.layers.dense_transform import DenseTokenMap
from ..models.model_spec import build_backbone, parse_model_spec
from ..rng import seeded

OPSET = 17
EXPORTER = 'torch.onnx.export(dynamo=False) (TorchScript-based)'
INSTALL = 'pip install lavit_mm[export]  (or: pip install onnx onnxruntime)'
Size = Tuple[int, int]  # (H, W)


# ------------------------------------------------------------------ dependencies / inputs
def require_onnx():
    """Returns the ``onnx`` and ``onnxruntime`` modules, or raises ImportError naming the
    install command."""
    modules = []
    for name in ('onnx', 'onnxruntime'):
        try:
            modules.append(importlib.import_module(name))
        except ImportError as e:
            raise ImportError(f'ONNX export needs onnx and onnxruntime, and {name} is not '
                              f'installed ({e}): {INSTALL}') from e
    return tuple(modules)


def parse_size(text: str) -> Size:
    """'224' -> (224, 224); '200x264' -> (200, 264), i.e. H x W."""
    try:
        return parse_shape(text)
    except ValueError as e:
        raise ValueError(f'size {text!r} is not N or HxW (height x width, e.g. 224 or '
                         f'200x264)') from e


def parse_target(text: str, default_sizes: Sequence[Size]) -> Tuple[str, List[Size]]:
    """'MODEL' -> (MODEL, default_sizes); 'MODEL@HxW,HxW' -> (MODEL, those sizes)."""
    spec, at, sizes = text.rpartition('@')
    if not at:
        return text, list(default_sizes)
    return spec, [parse_size(s) for s in sizes.split(',') if s]


# ------------------------------------------------------------------ what is exported
class DetectorRawOutputs(nn.Module):
    """A single-stage mmdet detector up to its head.

    Args:
        detector: e.g. RetinaNet (``extract_feat``, ``bbox_head``).

    forward: (B, C, H, W) -> per level ``cls_score`` (B, A*K, H_l, W_l), then per level
    ``bbox_pred`` (B, A*4, H_l, W_l), as one flat tuple.
    """

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        cls_scores, bbox_preds = self.detector.bbox_head.forward(self.detector.extract_feat(img))
        return (*cls_scores, *bbox_preds)


class SegmentorRawOutputs(nn.Module):
    """An mmseg EncoderDecoder up to its decode head.

    Args:
        segmentor: e.g. Semantic FPN (``extract_feat``, ``decode_head``).

    forward: (B, C, H, W) -> logits (B, K, H/4, W/4) (the head's stride), not resized.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.segmentor.decode_head.forward(self.segmentor.extract_feat(img))


class ClassifierRawOutputs(nn.Module):
    """An mmpretrain ImageClassifier: backbone, neck, head.

    Args:
        classifier: with ``extract_feat`` and ``head``.

    forward: (B, C, H, W) -> logits (B, K), before softmax.
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.classifier.head(self.classifier.extract_feat(img))


@dataclass
class ExportTarget:
    """A module ready to export (eval mode) and what describes it.

    Args:
        name: the row name (the model spec or the config's name).
        module: image (B, C, H, W) -> a tensor or a tuple of tensors.
        backbone: the backbone inside (its first patch size bounds the input sizes).
        in_channels: C of the input.
        kind: 'backbone', 'detector', 'segmentor' or 'classifier'.
    """
    name: str
    module: nn.Module
    backbone: nn.Module
    in_channels: int = 3
    kind: str = 'backbone'


def wrap_task_model(model: nn.Module) -> Tuple[nn.Module, str]:
    """A task model -> (its raw-output wrapper, kind). Refuses models whose raw outputs
    need more than one head call (two-stage detectors, cascades), naming mmdeploy."""
    if hasattr(model, 'bbox_head') and not hasattr(model, 'roi_head'):
        return DetectorRawOutputs(model), 'detector'
    if hasattr(model, 'decode_head'):
        return SegmentorRawOutputs(model), 'segmentor'
    if hasattr(model, 'head') and hasattr(model, 'extract_feat'):
        return ClassifierRawOutputs(model), 'classifier'
    raise NotImplementedError(
        f'{type(model).__name__}: export handles single-stage detectors (bbox_head), '
        f'segmentors (decode_head) and classifiers (head); for two-stage detectors (RoI '
        f'heads) use mmdeploy, or export the backbone alone (--backbone-only)')


def output_names(target: 'ExportTarget', count: int) -> List[str]:
    """Names of the ``count`` outputs of ``target.module``: ``stage<i>`` (backbones, i
    from 1), ``cls_score_<level>`` then ``bbox_pred_<level>`` (detectors), ``seg_logits``,
    ``cls_score`` (classifiers)."""
    if target.kind == 'detector':
        return [f'{what}_{i}' for what in ('cls_score', 'bbox_pred') for i in range(count // 2)]
    if target.kind in ('segmentor', 'classifier'):
        return ['seg_logits' if target.kind == 'segmentor' else 'cls_score']
    indices = list(getattr(target.module, 'out_indices', []))
    return [f'stage{i + 1}' for i in indices] if len(indices) == count else \
        [f'out{i}' for i in range(count)]


# parameters initialised to the identity or zero (LA transforms, head mix, the cross-stage
# map U): a check of fresh weights would not see what they compute
IDENTITY_INIT = ('.theta.weight', '.psi.weight', 'head_mix', 'query_map')


def perturb_identity_init(model: nn.Module, scale: float = 0.05, seed: int = 1) -> int:
    """Adds seeded noise (std ``scale``) to the parameters of ``IDENTITY_INIT``, in place, so
    that an export check of untrained weights covers what they compute. Returns how many
    parameters changed."""
    generator = torch.Generator().manual_seed(seed)
    changed = 0
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(name.endswith(k) for k in IDENTITY_INIT):
                param.add_(torch.randn(param.shape, generator=generator) * scale)
                changed += 1
    return changed


def build_target(spec: str, checkpoint: Optional[str] = None, backbone_only: bool = False,
                 seed: int = 0, cfg_options: Optional[dict] = None,
                 perturb: bool = False) -> ExportTarget:
    """A model to export, named as the other tools name them.

    Args:
        spec: a config ``.py`` (the whole task model; its ``model.backbone`` with
            ``backbone_only``), a preset (``lavit_t``), a preset with overrides
            (``lavit_t+attention='window'``) or a dict literal (a backbone).
        checkpoint: weights to load, refused unless they fit the model exactly (see
            :func:`load_checkpoint_strict`); None keeps the seeded initialisation.
        backbone_only: export a config's backbone only.
        seed: torch seed of the initialisation (the global random state is restored after
            the call).
        cfg_options: overrides of a config (``{'model.neck.out_channels': 64}``).
        perturb: :func:`perturb_identity_init` after the weights are set.
    """
    with seeded(seed):  # the caller's random state is left as it was
        if cfg_options and not spec.endswith('.py'):
            raise ValueError(f'cfg_options change a config file and {spec!r} is not one: give '
                             f'the overrides in the model spec (preset+key=value,...)')
        if spec.endswith('.py') and not backbone_only:
            target = task_model_target(spec, checkpoint, cfg_options)
        else:
            target = backbone_target(spec, checkpoint, cfg_options)
        if perturb:
            perturb_identity_init(target.module)
        return target


@contextmanager
def quiet_mmengine_logger(level: int = logging.WARNING) -> Iterator[None]:
    """mmengine's current logger shows only ``level`` and above in the ``with`` block."""
    logger = MMLogger.get_current_instance()
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def task_model_target(config: str, checkpoint: Optional[str] = None,
                      cfg_options: Optional[dict] = None) -> ExportTarget:
    """The raw-output wrapper of a config's task model (see :func:`build_target`)."""
    model = build_model(load_config(config, cfg_options))
    with quiet_mmengine_logger():  # init_weights logs every parameter's initialisation
        if checkpoint is None:
            model.init_weights()
        else:
            load_checkpoint_strict(model, checkpoint)
    module, kind = wrap_task_model(model)
    # eval mode on the outermost module: the exporter restores the mode it finds, recursively
    return ExportTarget(osp.splitext(osp.basename(config))[0], module.eval(), model.backbone,
                        getattr(model.backbone, 'in_channels', 3), kind)


def backbone_target(spec: str, checkpoint: Optional[str] = None,
                    cfg_options: Optional[dict] = None) -> ExportTarget:
    """A backbone from a model spec or a config's ``model.backbone`` (see
    :func:`build_target`); a checkpoint may be the backbone's or a whole model's."""
    if spec.endswith('.py'):
        name = osp.splitext(osp.basename(spec))[0] + '.backbone'
        cfg = load_config(spec, cfg_options).model.backbone.to_dict()
    else:
        name, cfg = parse_model_spec(spec)
    if checkpoint is not None:
        cfg.pop('init_cfg', None)  # the checkpoint replaces any pretrained weights
    backbone = build_backbone(cfg)
    if checkpoint is not None:
        load_checkpoint_strict(backbone, checkpoint, prefix=('backbone.', None))
    return ExportTarget(name, backbone.eval(), backbone, getattr(backbone, 'in_channels', 3))


# ------------------------------------------------------------------ checkpoints
def load_checkpoint_strict(model: nn.Module, path: str,
                           prefix: Union[None, str, Sequence[Optional[str]]] = None,
                           fix: str = 'export with the config or model spec the checkpoint '
                                      'was trained with') -> LoadReport:
    """Loads ``path`` into ``model`` only if it fits exactly: every key of the model present,
    no key left over, same shapes (position tables of another image size are resized, as
    ``init_cfg`` loading does). Otherwise raises ValueError with the missing/unexpected
    counts. ``prefix``: as ``extract_state_dict`` (e.g. ``('backbone.', None)``)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    verify_checkpoint_file(path, fix)
    try:
        checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except pickle.UnpicklingError as e:
        raise ValueError(f'{path} holds training state that torch\'s safe loader refuses: '
                         f'publish it first (python tools/publish_checkpoint.py {path} OUT), '
                         f'or, for a file you trust, allow full unpickling (tools/export_onnx.py '
                         f'without --safe-load, or TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1)') from e
    own = model.state_dict()
    state = checkpoint_filter_fn(extract_state_dict(checkpoint, prefix, path), model)
    report = LoadReport.of(state, own)
    bad = [k for k in report.loaded if state[k].shape != own[k].shape]
    if report.missing or report.unused or bad:
        raise ValueError(
            f'checkpoint {path} does not fit {type(model).__name__}: {len(report.missing)} '
            f'missing keys (e.g. {report.missing[:3]}), {len(report.unused)} unexpected keys '
            f'(e.g. {report.unused[:3]}), {len(bad)} shape mismatches (e.g. {bad[:3]}). It '
            f'was saved for another model: {fix} (a backbone checkpoint: export the backbone '
            f'alone; official PVT/Swin weights: tools/convert_weights.py first)')
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    return report


# ------------------------------------------------------------------ export / check
def first_patch_size(backbone: nn.Module) -> Optional[int]:
    """The first stage's patch size of our backbones (None for others)."""
    specs = getattr(backbone, 'stage_specs', None)
    return specs[0].patch_size if specs else None


def check_sizes(target: ExportTarget, sizes: Sequence[Size]) -> None:
    """Refuses sizes below one first-stage patch (their ONNX run would be a padded single
    token at best), an empty size list, and dense LA maps that are resized by the input size
    (a trace freezes the resize of its own size: the file would be wrong at any other)."""
    dense = [n for n, m in target.module.named_modules()
             if isinstance(m, DenseTokenMap) and m.resizable]
    if dense:
        raise ValueError(f"{target.name}: la_transform='dense' maps ({dense[0]}, ...) are "
                         f"resized to each input's token grid, which an ONNX file with dynamic "
                         f"sizes cannot follow: export a model with la_transform='local'")
    if not sizes:
        raise ValueError(f'{target.name}: no input size to export/check at: give one or '
                         f'more HxW sizes (e.g. 224x224 200x264)')
    patch = first_patch_size(target.backbone)
    for h, w in sizes:
        if patch and (h < patch or w < patch):
            raise ValueError(
                f'{target.name}: input size {h}x{w} is smaller than one {patch}x{patch} patch '
                f'of the first stage: export and check at sizes of at least {patch}x{patch} '
                f'(e.g. 224x224 and 200x264; 32x32 and 40x56 for the -32px presets)')


@contextmanager
def traceable_upsampling() -> Iterator[None]:
    """During the ``with`` block, mmseg's ``Upsample`` (Semantic FPN's scale heads) with an
    integer scale factor passes that factor to ``F.interpolate``: its own forward computes
    the output size as Python ints, which a trace freezes at the export size. For an
    integer factor both give the same output size and sampling positions, so the PyTorch
    outputs are unchanged. A no-op without mmseg."""
    try:
        from mmseg.models.utils import Upsample
    except ImportError:
        yield
        return
    original = Upsample.forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, sH, sW)
        factor = self.scale_factor
        if self.size or not isinstance(factor, float) or not factor.is_integer():
            return original(self, x)
        return F.interpolate(x, scale_factor=factor, mode=self.mode,
                             align_corners=self.align_corners)

    Upsample.forward = forward
    try:
        yield
    finally:
        Upsample.forward = original


def dynamic_axes(names: Sequence[str], outputs: Sequence[torch.Tensor]) -> dict:
    """Batch, height and width of the input, and of every 4-D output, are dynamic."""
    axes = {'input': {0: 'batch', 2: 'height', 3: 'width'}}
    for name, out in zip(names, outputs):
        axes[name] = {0: 'batch', 2: f'{name}_height', 3: f'{name}_width'} \
            if out.dim() == 4 else {0: 'batch'}
    return axes


def as_tuple(outputs) -> Tuple[torch.Tensor, ...]:
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs, )


def export_onnx(target: ExportTarget, path: str, size: Size, opset: int = OPSET) -> List[str]:
    """Exports ``target.module`` to ``path`` (TorchScript exporter, dynamic batch/H/W),
    traced on one (1, C, H, W) input of ``size``; checks the file with ``onnx.checker``.
    Returns the output names (:func:`output_names`)."""
    onnx, _ = require_onnx()
    check_sizes(target, [size])
    sample = torch.randn(1, target.in_channels, *size, generator=torch.Generator().manual_seed(0))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with torch.no_grad():
        outputs = as_tuple(target.module(sample))
        names = output_names(target, len(outputs))
        with warnings.catch_warnings(), traceable_upsampling():
            # size branches frozen by the trace are caught by the checks at other sizes
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX')
            torch.onnx.export(target.module, (sample, ), path, dynamo=False,
                              opset_version=opset, input_names=['input'],
                              output_names=names, dynamic_axes=dynamic_axes(names, outputs))
    onnx.checker.check_model(path)
    return names


def make_session(path: str, threads: Optional[int] = None):
    """An onnxruntime CPU session with ``threads`` intra-op threads (default: torch's)."""
    _, ort = require_onnx()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


@dataclass
class SizeCheck:
    """ONNX vs PyTorch at one input size: max |difference| per output (in the order of
    ``names``) and median latencies in ms (None when not timed)."""
    size: Size
    names: List[str]
    max_abs_diff: List[float]
    torch_ms: Optional[float] = None
    ort_ms: Optional[float] = None


def median_ms_interleaved(fns: Sequence[Callable[[], object]], runs: int) -> List[float]:
    """Median wall time (ms) of each function over ``runs`` timed calls after one warm-up,
    the calls interleaved (a drift of a shared machine hits every function alike)."""
    for fn in fns:
        fn()
    times: List[List[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(t) for t in times]


def compare_at(target: ExportTarget, session, size: Size, batch: int = 1, runs: int = 0,
               seed: int = 1) -> SizeCheck:
    """Runs PyTorch and onnxruntime on one random (batch, C, H, W) input of ``size``.

    Args:
        target: the exported model (its PyTorch module).
        session: the onnxruntime session of its ONNX file.
        size: (H, W).
        batch: images per input.
        runs: timed runs of each (median); 0 compares only.
        seed: seed of the input.
    """
    x = torch.randn(batch, target.in_channels, *size,
                    generator=torch.Generator().manual_seed(seed))
    feed = {'input': x.numpy()}
    names = [o.name for o in session.get_outputs()]
    with torch.no_grad():
        ref = as_tuple(target.module(x))
    got = session.run(names, feed)
    if len(got) != len(ref):
        raise RuntimeError(f'{target.name}: ONNX gave {len(got)} outputs, PyTorch {len(ref)}')
    diffs = []
    for name, r, g in zip(names, ref, got):
        if tuple(r.shape) != g.shape:
            raise RuntimeError(f'{target.name} at {size[0]}x{size[1]}: output {name} is '
                               f'{g.shape} in ONNX, {tuple(r.shape)} in PyTorch: a size '
                               f'branch was frozen at the export size')
        diffs.append(float(np.abs(r.numpy() - g).max()) if g.size else 0.)
    check = SizeCheck(size, names, diffs)
    if runs:
        with torch.no_grad():
            check.torch_ms, check.ort_ms = median_ms_interleaved(
                [lambda: target.module(x), lambda: session.run(None, feed)], runs)
    return check


@dataclass
class ExportResult:
    """One exported model and its checks."""
    name: str
    path: str
    export_size: Size
    checks: List[SizeCheck] = field(default_factory=list)
    opset: int = OPSET
    exporter: str = EXPORTER

    @property
    def max_abs_diff(self) -> float:
        return max((max(c.max_abs_diff) for c in self.checks), default=0.)


def export_and_check(target: ExportTarget, sizes: Sequence[Size], out_dir: str,
                     opset: int = OPSET, runs: int = 5, batch: int = 1,
                     export_size: Optional[Size] = None,
                     on_size: Optional[Callable[[SizeCheck], None]] = None) -> ExportResult:
    """Exports ``target`` once (at ``export_size``, default the first size) to
    ``out_dir/<name>.onnx`` and compares it with PyTorch at every size of ``sizes``.

    Args:
        target: from :func:`build_target`.
        sizes: (H, W) sizes to check; include one that is not the export size (and not a
            multiple of 32) to show that the dynamic H/W work.
        out_dir: where the .onnx file goes.
        opset: ONNX opset (>= 14 for the fused attention).
        runs: timed runs per size and runtime (0: no timing).
        batch: images per checked input (the export uses 1; batch is dynamic too).
        export_size: the size the trace runs at.
        on_size: called after each size (progress).
    """
    sizes = list(sizes)
    check_sizes(target, sizes + ([export_size] if export_size else []))
    export_size = export_size or sizes[0]
    safe = ''.join(c if c.isalnum() or c in '-_.' else '_' for c in target.name)
    path = osp.join(out_dir, f'{safe}.onnx')
    export_onnx(target, path, export_size, opset)
    session = make_session(path)
    result = ExportResult(target.name, path, export_size, opset=opset)
    for size in sizes:
        result.checks.append(compare_at(target, session, size, batch, runs))
        if on_size is not None:
            on_size(result.checks[-1])
    return result


# ------------------------------------------------------------------ report
def _ms(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.1f}'


def summary_table(results: Sequence[ExportResult], atol: Optional[float] = None) -> str:
    """A markdown table, one row per model and checked size."""
    lines = ['| model | export size | input size | max abs diff per output | PyTorch ms | '
             'onnxruntime ms | opset |', '|---|---|---|---|---|---|---|']
    for r in results:
        for c in r.checks:
            diffs = ', '.join(f'{n} {d:.1e}' for n, d in zip(c.names, c.max_abs_diff))
            flag = ' **over atol**' if atol is not None and max(c.max_abs_diff) > atol else ''
            lines.append(f'| {r.name} | {r.export_size[0]}x{r.export_size[1]} | '
                         f'{c.size[0]}x{c.size[1]} | {diffs}{flag} | {_ms(c.torch_ms)} | '
                         f'{_ms(c.ort_ms)} | {r.opset} |')
    return '\n'.join(lines) + '\n'


def environment_line() -> str:
    """Versions and threads, for the table's caption."""
    onnx, ort = require_onnx()
    return (f'Exporter: {EXPORTER}; torch {torch.__version__}, onnx {onnx.__version__}, '
            f'onnxruntime {ort.__version__} (CPUExecutionProvider); CPU, '
            f'{torch.get_num_threads()} thread(s) for each runtime.')


def build_targets(specs: Sequence[Tuple[str, Sequence[Size]]],
                  checkpoint: Optional[str] = None, backbone_only: bool = False,
                  cfg_options: Optional[dict] = None,
                  perturb: bool = False) -> List[Tuple[ExportTarget, List[Size]]]:
    """:func:`build_target` for each (spec, sizes), e.g. from :func:`parse_target`, with the
    sizes checked (:func:`check_sizes`) before anything is exported; ``checkpoint`` needs
    exactly one spec."""
    if checkpoint is not None and len(specs) != 1:
        raise ValueError(f'a checkpoint fits one model and {len(specs)} were given: export '
                         f'one model per checkpoint')
    targets = []
    for spec, sizes in specs:
        target = build_target(spec, checkpoint, backbone_only, cfg_options=cfg_options,
                              perturb=perturb)
        check_sizes(target, sizes)
        targets.append((target, list(sizes)))
    return targets


def export_many(specs: Sequence[Tuple[str, Sequence[Size]]], out_dir: str,
                checkpoint: Optional[str] = None, backbone_only: bool = False,
                cfg_options: Optional[dict] = None, perturb: bool = False,
                opset: int = OPSET, runs: int = 5, batch: int = 1,
                on_size: Optional[Callable[[SizeCheck], None]] = None) -> List[ExportResult]:
    """:func:`build_targets`, then :func:`export_and_check` for each."""
    return [export_and_check(target, sizes, out_dir, opset, runs, batch, on_size=on_size)
            for target, sizes in build_targets(specs, checkpoint, backbone_only, cfg_options,
                                               perturb)]


__all__ = ['OPSET', 'EXPORTER', 'INSTALL', 'require_onnx', 'parse_size', 'parse_target',
           'DetectorRawOutputs', 'SegmentorRawOutputs', 'ClassifierRawOutputs', 'ExportTarget',
           'build_target', 'task_model_target', 'backbone_target', 'perturb_identity_init',
           'load_checkpoint_strict', 'check_sizes', 'traceable_upsampling', 'export_onnx',
           'make_session', 'compare_at', 'export_and_check', 'build_targets', 'export_many',
           'summary_table',
           'environment_line', 'SizeCheck', 'ExportResult']
