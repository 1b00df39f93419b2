"""Loading backbone weights with a report, and the pure filter that adapts a state dict.

``load_pretrained`` is what ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``
runs for our backbones. A file in a foreign layout that ``convert.py`` knows (official and
mmdet PVT / PVT v2 / Swin, official DeiT) is converted while loading, as mmdet's backbones
convert official releases, and the report names the layout. Unlike mmengine's silent
``strict=False`` load, it raises when the checkpoint cannot be meant for this model (no key
with the prefix, an unknown layout, no key in common, shape mismatches) and logs exactly
which keys were missing or unused.
"""
import os.path as osp
import pickle
import zipfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.runner.checkpoint import CheckpointLoader

from .aux_loss import is_step_buffer
from .convert import CONVERTERS, detect_layout
from .layers.embed import resize_pos_embed

# our layouts: the hierarchical backbones' keys, and LaViTPlain's, which are mmpretrain's ViT's
OWN_LAYOUT = 'lavit_mm'
OWN_LAYOUTS = (OWN_LAYOUT, 'mmpretrain-vit')


@dataclass
class LoadReport:
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # in the model, not in the checkpoint
    unused: List[str] = field(default_factory=list)  # in the checkpoint, not in the model
    layout: str = OWN_LAYOUT  # the file's layout ('unknown': none known), converted if foreign

    @classmethod
    def of(cls, state: Dict[str, torch.Tensor], own: Dict[str, torch.Tensor]) -> 'LoadReport':
        """What loading checkpoint ``state`` into a model whose state dict is ``own`` would
        load, miss and leave unused. The auxiliary losses' step counters are training state,
        not weights: never reported missing (the model starts them at 0)."""
        return cls(loaded=[k for k in state if k in own],
                   missing=[k for k in own if k not in state and not is_step_buffer(k)],
                   unused=[k for k in state if k not in own])

    def __str__(self):
        converted = f'converted from the {self.layout!r} layout; ' \
            if converted_on_load(self.layout) else ''
        return (f'{converted}loaded {len(self.loaded)} tensors; missing {len(self.missing)}: '
                f'{self.missing}; unused {len(self.unused)}: {self.unused}')


def extract_state_dict(checkpoint, prefix: Union[None, str, Sequence[Optional[str]]] = None,
                       source: str = 'checkpoint') -> Dict[str, torch.Tensor]:
    """The (prefix-stripped) state dict of an mmengine/timm/official checkpoint object.
    ``prefix`` may list candidates, the first one some key starts with is used (None: no
    prefix), e.g. ``('backbone.', None)`` for a whole-model or a backbone-only checkpoint."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{source} is not a state dict or a checkpoint dict '
                         f'(got {type(checkpoint).__name__})')
    state = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(state.get(key), dict):
            state = state[key]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in state.items()}
    if isinstance(prefix, (list, tuple)):
        matching = [p for p in prefix if not p or any(k.startswith(p) for k in state)]
        prefix = matching[0] if matching else prefix[0]  # none: the first one's error
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        stripped = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not stripped:
            heads = sorted({k.split('.')[0] + '.' for k in state})[:8]
            raise ValueError(f'{source} has no key starting with {prefix!r}; its keys start '
                             f'with {heads}. Set init_cfg prefix to one of those, or None.')
        state = stripped
    return state


def _square_side(tokens: int) -> int:
    side = round(tokens ** 0.5)
    if side * side != tokens:
        raise ValueError(f'cannot resize a position table of {tokens} tokens: not a square grid')
    return side


def resize_relative_position_table(table: torch.Tensor, target_len: int) -> torch.Tensor:
    """A ((2M-1)^2, heads) Swin bias table resized (bicubic) for another window size."""
    src, dst = round(table.shape[0] ** 0.5), round(target_len ** 0.5)
    grid = table.T.reshape(1, -1, src, src).float()
    grid = F.interpolate(grid, size=(dst, dst), mode='bicubic', align_corners=False)
    return grid.reshape(-1, target_len).T.to(table.dtype)


def checkpoint_filter_fn(state: Dict[str, torch.Tensor],
                         model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """Adapts a state dict in our layout to ``model``. Pure: returns a new dict.

    - position tables trained at another image size are resized (bilinear);
    - relative position tables of another window size are resized (bicubic);
    - a plain ViT's table (``pos_embed``) is fitted by the model (``LaViTPlain.fit_pos_embed``);
    - a VA layer's weights loaded into an LA layer keep only the value projection (the
      second half of ``kv``, the last third of ``qkv``); its q/k projections stay unused.
    """
    own = model.state_dict()
    out = {}
    for k, v in state.items():
        if k in own and v.shape != own[k].shape:
            if k.endswith('pos_embed.pos_embed') and v.shape[-1] == own[k].shape[-1]:
                src, dst = _square_side(v.shape[1]), _square_side(own[k].shape[1])
                v = resize_pos_embed(v, (src, src), (dst, dst), 'bilinear', extra=0)
            elif k.endswith('relative_position_bias_table') and v.shape[1] == own[k].shape[1]:
                v = resize_relative_position_table(v, own[k].shape[0])
            elif k == 'pos_embed' and hasattr(model, 'fit_pos_embed'):  # a plain ViT's table
                v = model.fit_pos_embed(v)
        out[k] = v
        for fused, parts in (('.attn.kv.', 2), ('.attn.qkv.', 3)):
            v_key = k.replace(fused, '.attn.v.')
            if fused in k and k not in own and v_key in own and v_key not in state:
                out[v_key] = v[(parts - 1) * v.shape[0] // parts:]
    return out


def verify_checkpoint_file(path: str, fix: str) -> None:
    """Raises, naming the problem and ``fix``, when ``path`` is missing, empty, or a torch
    zip archive that is truncated or corrupt (CRC of every member checked)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist: {fix}')
    if osp.getsize(path) == 0:
        raise ValueError(f'checkpoint {path} is empty (0 bytes): {fix}')
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                broken = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            broken = str(e)
        if broken is not None:
            raise ValueError(f'checkpoint {path} is corrupt ({broken}): {fix}')
    else:
        with open(path, 'rb') as f:
            head = f.read(2)
        if head == b'PK':  # a zip archive whose central directory (at its end) is missing
            raise ValueError(f'checkpoint {path} is truncated (a torch archive cut short, '
                             f'e.g. by a run killed while saving): {fix}')
        if head[:1] != b'\x80':  # neither a zip archive nor a legacy pickle
            raise ValueError(f'{path} is not a torch checkpoint: {fix}')


def converted_on_load(layout: str) -> bool:
    """Whether a file of ``layout`` is converted to ours while loading (a foreign layout
    ``convert.py`` knows)."""
    return layout in CONVERTERS and layout not in OWN_LAYOUTS


def to_own_layout(state: Dict[str, torch.Tensor]):
    """(state, the layout detected): a layout ``convert.py`` converts is converted to ours;
    ours, or keys of no known layout (a whole task model, another family), are returned as
    they are, for the key check of :func:`load_pretrained`."""
    layout = detect_layout(state)
    if converted_on_load(layout):
        return CONVERTERS[layout](state), layout
    return state, layout


def load_pretrained(model: torch.nn.Module, filename: str,
                    prefix: Union[None, str, Sequence[Optional[str]]] = None,
                    logger=None) -> LoadReport:
    """Loads ``filename`` into ``model`` (see module docstring); returns the report."""
    if '://' not in filename:
        verify_checkpoint_file(filename, 're-download, re-convert or re-publish it')
    try:
        checkpoint = CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    except pickle.UnpicklingError as e:
        raise ValueError(
            f'{filename} holds training state that torch\'s safe loader refuses. Publish it '
            f'first: python tools/publish_checkpoint.py {filename} OUT (keeps meta + weights) '
            f'and point init_cfg at OUT; or, for a file you trust, set '
            f'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.') from e
    state, layout = to_own_layout(extract_state_dict(checkpoint, prefix, filename))
    state = checkpoint_filter_fn(state, model)
    own = model.state_dict()
    report = LoadReport.of(state, own)
    report.layout = layout
    if not report.loaded:
        raise ValueError(
            f'{filename} shares no key with {type(model).__name__} (its keys look like '
            f'{list(state)[:4]}; layout {layout!r}): a checkpoint of another family or layout, '
            f'or a wrong init_cfg prefix? Layouts converted on load: {sorted(CONVERTERS)}.')
    bad = {k: (tuple(state[k].shape), tuple(own[k].shape))
           for k in report.loaded if state[k].shape != own[k].shape}
    if bad:
        raise ValueError(f'{filename}: shape mismatch (checkpoint, model) for {bad}: the '
                         f'checkpoint was trained with another arch')
    model.load_state_dict({k: state[k] for k in report.loaded}, strict=False)
    if logger is not None:
        logger.info(f'{type(model).__name__}: loaded {filename}: {report}')
    return report
