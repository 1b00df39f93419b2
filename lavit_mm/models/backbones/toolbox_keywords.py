"""mmdet's and mmseg's keywords for a backbone's architecture, so that their own configs run
with our backbones by changing only ``type`` (docs/guide.md, "From mmdet's and mmseg's
configs").

mmdet's ``PyramidVisionTransformer(V2)`` and mmdet's / mmseg's ``SwinTransformer`` spell an
architecture as keywords (``embed_dims=64, num_layers=[3, 4, 6, 3]``) over their class's
defaults; ours name it by ``arch`` (a preset, or a dict of per-stage lists). A
:class:`ToolboxSpelling` reads theirs:

- no ``arch`` given (PVT, PVTv2, Swin): the keywords over the toolbox class's defaults become
  the arch dict, so ``type='lavit_mm.PVTv2'`` in mmdet's PVTv2-b2 config builds PVTv2-b2;
- an ``arch`` given (and always for LaViT, whose Less-Attention layout no toolbox keyword
  describes): each keyword must state what the arch already is, or it is refused naming both
  values.

A keyword is taken where mmdet's model and ours agree on its meaning, and refused by name where
it asks for a model we do not build (``qk_scale`` other than None, ``patch_norm=False``,
``convert_weights=False``, the deprecated ``pretrained``). ``pretrain_img_size`` sizes only
an absolute position table: beside the toolbox's architecture keywords it is dropped where the
toolbox ignores it (no table); alone, in our spelling, it is refused there by name.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple, Union

from .spec import attention_config, default_patch_sizes

Arch = Union[str, dict, None]  # None: not given


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else value


# --------------------------------------------------------------------- mmdet's PVT keywords
def _pvt_to_arch(kw: dict) -> dict:
    n, strides = kw['num_stages'], list(kw['strides'])
    kernels, paddings = list(kw['patch_sizes']), list(kw['paddings'])
    for key in ('num_layers', 'num_heads', 'patch_sizes', 'strides', 'paddings', 'sr_ratios',
                'mlp_ratios'):
        if len(kw[key]) != n:
            raise ValueError(f'{key}={list(kw[key])} has {len(kw[key])} entries for '
                             f'num_stages={n}')
    if kernels == strides and paddings == [0] * n:
        overlap = False
    elif kernels == [2 * s - 1 for s in strides] and paddings == [s - 1 for s in strides]:
        overlap = True
    else:
        raise ValueError(f'patch_sizes={kernels}, strides={strides}, paddings={paddings}: '
                         f'patches are embedded either without overlap (patch_sizes equal to '
                         f'strides, paddings 0: PVT v1) or with PVT v2\'s overlap (patch_sizes '
                         f'2s-1, paddings s-1 for stride s); give one of the two')
    return dict(embed_dims=[kw['embed_dims'] * h for h in kw['num_heads']],
                depths=list(kw['num_layers']), num_heads=list(kw['num_heads']),
                mlp_ratios=list(kw['mlp_ratios']), sr_ratios=list(kw['sr_ratios']),
                patch_sizes=strides, num_va=list(kw['num_layers']), overlap_patch_embed=overlap)


def _pvt_of_arch(arch: dict) -> dict:
    widths, heads, strides = arch['embed_dims'], arch['num_heads'], arch['patch_sizes']
    overlap = bool(arch.get('overlap_patch_embed', False))
    base = widths[0] // heads[0]
    return dict(embed_dims=base if all(w == base * h for w, h in zip(widths, heads)) else
                f'none (widths {widths} are not one width times num_heads {heads})',
                num_stages=len(widths), num_layers=arch['depths'], num_heads=heads,
                mlp_ratios=arch['mlp_ratios'], sr_ratios=arch.get('sr_ratios'),
                strides=strides,
                patch_sizes=[2 * s - 1 if overlap else s for s in strides],
                paddings=[s - 1 if overlap else 0 for s in strides])


_PVT_V1 = dict(embed_dims=64, num_stages=4, num_layers=[3, 4, 6, 3], num_heads=[1, 2, 5, 8],
               patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2], paddings=[0, 0, 0, 0],
               sr_ratios=[8, 4, 2, 1], mlp_ratios=[8, 8, 4, 4])


# --------------------------------------------------------------------- Swin's keywords
def _swin_to_arch(kw: dict) -> dict:
    n, strides = len(kw['depths']), list(kw['strides'])
    if len(kw['num_heads']) != n or len(strides) != n:
        raise ValueError(f"depths, num_heads and strides need one entry per stage, got "
                         f"{list(kw['depths'])}, {list(kw['num_heads'])}, {strides}")
    if strides[0] != kw['patch_size']:
        raise ValueError(f"strides[0]={strides[0]} and patch_size={kw['patch_size']}: the "
                         f"first stage embeds non-overlapping patches, so they must be equal")
    return dict(embed_dims=[kw['embed_dims'] * 2 ** i for i in range(n)],
                depths=list(kw['depths']), num_heads=list(kw['num_heads']),
                mlp_ratios=[kw['mlp_ratio']] * n, patch_sizes=strides,
                num_va=list(kw['depths']))


def _swin_of_arch(arch: dict) -> dict:
    widths, ratios = arch['embed_dims'], arch['mlp_ratios']
    return dict(embed_dims=widths[0] if widths == [widths[0] * 2 ** i for i in range(len(widths))]
                else f'none (widths {widths} do not double per stage)',
                depths=arch['depths'], num_heads=arch['num_heads'],
                mlp_ratio=ratios[0] if len(set(ratios)) == 1 else f'none (ratios {ratios})',
                patch_size=arch['patch_sizes'][0], strides=arch['patch_sizes'])


_SWIN = dict(embed_dims=96, patch_size=4, mlp_ratio=4, depths=[2, 2, 6, 2],
             num_heads=[3, 6, 12, 24], strides=[4, 2, 2, 2])


@dataclass(frozen=True)
class ToolboxSpelling:
    """One toolbox class's architecture keywords: their defaults, and the two directions
    between them and an arch dict.

    Args:
        toolbox_class: the toolbox's class, for messages.
        defaults: its architecture keywords' defaults.
        to_arch: keywords (defaults filled in) -> our arch dict.
        of_arch: our arch dict -> the keywords' values (for the agreement check).
        arch_parts: arch-level keys the toolbox class sets on its own (PVT v2's parts).
        position_table: whether an arch without ``use_abs_pos_embed`` has a position table.
        fixed: keywords accepted only at one value (the model we build), with why.
        kind: the attention kind the toolbox class is.
        options: its keywords that are options of ours -> where ours are written:
            'attention' (``attention=dict(type=kind, ...)``) or 'arch' (an arch key).
    """
    toolbox_class: str
    defaults: dict
    to_arch: Callable[[dict], dict]
    of_arch: Callable[[dict], dict]
    arch_parts: dict = field(default_factory=dict)
    position_table: bool = True
    fixed: Dict[str, tuple] = field(default_factory=dict)
    kind: str = 'sra'
    options: Dict[str, str] = field(default_factory=dict)

    def read(self, owner: str, arch: Arch, kwargs: dict, default_arch: str, presets: dict,
             builds: bool = True) -> Tuple[Union[str, dict], dict]:
        """(arch, the remaining keyword arguments) for a backbone called with ``arch`` (None:
        not given) and ``kwargs``. ``default_arch``: the arch when neither an arch nor a
        toolbox keyword is given; ``presets``: the backbone's arch zoo. ``builds=False``: the
        keywords never build an arch (LaViT): an arch must be named with them, and the
        agreeing presets are suggested."""
        kwargs = dict(kwargs)
        given = {k: _as_list(kwargs.pop(k)) for k in list(kwargs) if k in self.defaults}
        self._check_fixed(owner, kwargs, drop=bool(given))
        if given and arch is None:
            if not builds:
                raise ValueError(self._name_a_preset(owner, given, presets))
            try:
                arch = {**self.arch_parts, **self.to_arch({**self.defaults, **given})}
            except ValueError as err:
                raise ValueError(f'{owner}: {err}') from None
            resolved = arch
        else:
            arch = default_arch if arch is None else arch
            resolved = presets.get(arch.lower()) if isinstance(arch, str) else arch
            if given:
                self._check_agreement(owner, arch, resolved, given)
        if given and 'pretrain_img_size' in kwargs and not kwargs.get(
                'use_abs_pos_embed', (resolved or {}).get('use_abs_pos_embed',
                                                          self.position_table)):
            # a toolbox config's keyword that sizes only the position table, which is off:
            # dropped as the toolbox drops it (in our own spelling it is refused by name)
            kwargs.pop('pretrain_img_size')
        return self._place_options(owner, arch, resolved, kwargs)

    def _place_options(self, owner: str, arch, resolved: Optional[dict], kwargs: dict):
        """The toolbox keywords that are options of ours, moved to where ours are written:
        the ``attention`` dict or the arch."""
        for key, place in self.options.items():
            if key not in kwargs:
                continue
            value = kwargs.pop(key)
            if place == 'attention':
                attention = attention_config(owner, kwargs.get('attention', self.kind))
                if key in attention:
                    raise ValueError(f'{owner}: {key} is given twice, as {self.toolbox_class}\'s '
                                     f'keyword and in attention: remove one')
                kwargs['attention'] = dict(attention, **{key: value})
            elif resolved is not None:
                arch = resolved = dict(resolved, **{key: value})
        return arch, kwargs

    def _check_agreement(self, owner: str, arch: Union[str, dict], resolved: Optional[dict],
                         given: dict) -> None:
        """Each given keyword must state what ``resolved`` (``arch``'s dict; None for an
        unknown preset, which the backbone names) already is."""
        if resolved is None:
            return
        stated = self._stated(resolved)
        for key, value in given.items():
            if value != stated.get(key):
                raise ValueError(
                    f'{owner}: {key}={value} ({self.toolbox_class}\'s keyword) differs from '
                    f'arch={arch if isinstance(arch, str) else "the dict given"!r}, which has '
                    f'{key}={stated.get(key)}: remove {key}, or choose the arch it describes')

    def _stated(self, arch: dict) -> dict:
        """The toolbox keywords' values for ``arch``."""
        return self.of_arch(dict(arch, patch_sizes=arch.get(
            'patch_sizes', default_patch_sizes(len(arch['depths'])))))

    def _check_fixed(self, owner: str, kwargs: dict, drop: bool) -> None:
        """Refuses a fixed keyword at another value; at its value it states the model we
        build and is dropped beside the toolbox's architecture keywords (``drop``), and left
        to the backbone, which refuses what does not apply, in our own spelling."""
        for key, (value, why) in self.fixed.items():
            if key not in kwargs:
                continue
            if kwargs[key] != value:
                raise ValueError(f'{owner}: {key}={kwargs[key]!r} ({self.toolbox_class}\'s '
                                 f'keyword) is not offered: {why}')
            if drop:
                kwargs.pop(key)

    def _name_a_preset(self, owner: str, given: dict, presets: dict) -> str:
        agree = []
        for name, preset in presets.items():
            stated = self._stated(preset)
            if all(stated.get(k) == v for k, v in given.items()):
                agree.append(name)
        return (f'{owner}: {sorted(given)} ({self.toolbox_class}\'s keywords) describe widths '
                f'and depths but not where the Less-Attention layers go: name a preset with '
                f'arch=...; those that agree with them: {sorted(agree) or "none"}')


_LOAD_FIXED = dict(
    convert_weights=(True, 'checkpoints are converted while loading, from whichever layout '
                     'the file has (docs/guide.md); remove it'),
    pretrained=(None, "the deprecated spelling of init_cfg: use init_cfg=dict("
                "type='Pretrained', checkpoint=...)"))

_PVT_OPTIONS = dict(pretrain_img_size='attention', use_abs_pos_embed='attention',
                    use_conv_ffn='arch')
MMDET_PVT = ToolboxSpelling(
    "mmdet's PyramidVisionTransformer", _PVT_V1, _pvt_to_arch, _pvt_of_arch,
    fixed=dict(_LOAD_FIXED), options=_PVT_OPTIONS)
MMDET_PVTV2 = ToolboxSpelling(
    "mmdet's PyramidVisionTransformerV2",
    dict(_PVT_V1, patch_sizes=[7, 3, 3, 3], paddings=[3, 1, 1, 1]), _pvt_to_arch,
    _pvt_of_arch, arch_parts=dict(use_conv_ffn=True, use_abs_pos_embed=False),
    fixed=dict(_LOAD_FIXED), options=_PVT_OPTIONS)
SWIN_TRANSFORMER = ToolboxSpelling(
    "mmdet's/mmseg's SwinTransformer", _SWIN, _swin_to_arch, _swin_of_arch,
    position_table=False, kind='window', options=dict(window_size='attention'),
    fixed=dict(_LOAD_FIXED,
               qk_scale=(None, 'attention is scaled by head_dim ** -0.5; remove it'),
               patch_norm=(True, 'the patch embedding is always normalised; remove it'),
               use_abs_pos_embed=(False, 'windows carry positions in their relative '
                                  'position bias and there is no absolute table; remove it')))
# by the name an attention kind gives in ``AttentionKind.toolbox_keywords``
SPELLINGS = {'PyramidVisionTransformerV2': MMDET_PVTV2, 'SwinTransformer': SWIN_TRANSFORMER}
