"""Typed architecture specs: an ``arch`` (a preset name or a dict of per-stage lists, the
``arch_zoo`` convention of mmpretrain) resolved into one :class:`StageSpec` per stage.

A preset may hold any number of stages; per-stage keys an attention kind needs (``sr_ratios``
for 'sra') are named by the kind (``AttentionKind.stage_keys``) and reach it as the stage's
``kind_keys`` (the kind checks their values), a kind-level key (``window_size`` for 'window')
by ``AttentionKind.arch_keys``; :data:`COMMON_ARCH_KEYS` apply to every kind.
"""
import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

PER_STAGE_KEYS = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'patch_sizes', 'num_va')
# arch-level defaults of backbone options every kind takes (PVT v2's parts): a preset is the
# whole model; an explicit backbone argument wins
COMMON_ARCH_KEYS = ('overlap_patch_embed', 'use_conv_ffn')
# per-stage list key -> StageSpec field (a kind's per-stage keys go to ``kind_keys``)
_FIELDS = dict(embed_dims='embed_dims', depths='depth', num_heads='num_heads',
               mlp_ratios='mlp_ratio', patch_sizes='patch_size', num_va='num_va')


@dataclass(frozen=True)
class StageSpec:
    """One stage: a patch embedding of ``patch_size``, then ``depth`` blocks of ``num_heads``
    heads at width ``embed_dims``, the first ``num_va`` Vanilla Attention, the rest Less
    Attention.

    Args:
        embed_dims: token width C.
        depth: blocks in the stage (0: patch embedding only).
        num_heads: attention heads; divides ``embed_dims``.
        mlp_ratio: MLP hidden width / C.
        patch_size: stride of the stage's patch embedding.
        num_va: leading VA layers, in [1, depth] (an LA layer reuses the attention before it);
            0 after the first stage makes a stage of LA layers only, whose first layer
            inherits the previous stage's last attention (``layers/cross_stage.py``).
        kind_keys: this stage's values of the attention kind's per-stage keys
            (``AttentionKind.stage_keys``), e.g. ``{'sr_ratios': 8}`` for 'sra'.
        block_type: 'attn' (the attention kind's blocks) or 'conv' (CoAtNet's MBConv blocks,
            ``conv_stage.py``; heads, MLP ratio, ``num_va`` and ``kind_keys`` unused).
    """
    embed_dims: int
    depth: int
    num_heads: int
    mlp_ratio: float
    patch_size: int
    num_va: int
    kind_keys: Mapping[str, Any] = field(default_factory=dict)
    block_type: str = 'attn'

    @property
    def num_la(self) -> int:
        return 0 if self.block_type == 'conv' else self.depth - self.num_va

    def is_less_attention(self, index: int) -> bool:
        return self.block_type != 'conv' and index >= self.num_va


def default_patch_sizes(num_stages: int) -> List[int]:
    """An arch's patch sizes when it names none: 4, then 2 for every later stage."""
    return [4] + [2] * (num_stages - 1)


def resolve_arch(arch: Union[str, dict], arch_zoo: Dict[str, dict], owner: str,
                 stage_keys: Sequence[str] = (), arch_keys: Sequence[str] = (),
                 kind: str = 'sra') -> Tuple[dict, List[StageSpec]]:
    """A preset name or a dict -> (the checked dict, one :class:`StageSpec` per stage).

    ``stage_keys``/``arch_keys``: the extra per-stage and arch-level keys the attention
    ``kind`` uses; keys of other kinds are refused, naming the kind they belong to.
    """
    keys = PER_STAGE_KEYS + tuple(stage_keys)
    if isinstance(arch, str):
        if arch.lower() not in arch_zoo:
            raise ValueError(f'{owner}: unknown arch {arch!r}; choose one of '
                             f'{sorted(arch_zoo)} or pass a dict with keys {list(keys)}')
        arch = arch_zoo[arch.lower()]
    if not isinstance(arch, dict):
        raise TypeError(f'{owner}: arch must be a preset name or a dict, got {type(arch)}')
    arch = copy.deepcopy(arch)
    arch.setdefault('patch_sizes', default_patch_sizes(len(arch.get('depths', []))))
    arch.setdefault('num_va', list(arch.get('depths', [])))
    arch_keys = tuple(arch_keys) + COMMON_ARCH_KEYS
    unknown = sorted(set(arch) - set(keys) - set(arch_keys))
    if unknown:
        raise ValueError(f"{owner}: arch keys {unknown} do not apply to attention={kind!r}; "
                         f"it takes {list(keys) + list(arch_keys)}")
    missing = [k for k in keys if k not in arch]
    if missing:
        raise ValueError(f'{owner}: arch dict is missing {missing}')
    lengths = {k: len(arch[k]) for k in keys}
    if len(set(lengths.values())) != 1 or not arch['depths']:
        raise ValueError(f'{owner}: per-stage lists in arch must all have one entry per stage '
                         f'(at least one stage), got lengths {lengths}')
    specs = [StageSpec(**{_FIELDS[k]: arch[k][i] for k in PER_STAGE_KEYS},
                       kind_keys={k: arch[k][i] for k in stage_keys})
             for i in range(len(arch['depths']))]
    for i, s in enumerate(specs):
        if min(s.embed_dims, s.num_heads, s.patch_size, s.mlp_ratio) <= 0 or s.depth < 0:
            raise ValueError(f'{owner}: stage {i}: sizes must be positive, got {s}')
        if s.embed_dims % s.num_heads:
            raise ValueError(f'{owner}: stage {i}: embed_dims {s.embed_dims} not divisible '
                             f'by num_heads {s.num_heads}')
        if not (s.depth == 0 or (1 if i == 0 else 0) <= s.num_va <= s.depth):
            raise ValueError(f'{owner}: stage {i}: num_va={s.num_va} must be in '
                             f'[{1 if i == 0 else 0}, depth={s.depth}]: an LA layer reuses the '
                             f'attention before it, which the first stage must compute '
                             f'(later stages may inherit it: num_va=0)')
    return arch, specs


def attention_config(owner: str, attention: Union[str, dict], **defaults) -> dict:
    """``attention`` (a kind's name, or a dict of its ``type`` and options) as a dict, with
    ``defaults`` for the options it does not give."""
    if isinstance(attention, str):
        attention = dict(type=attention)
    if not isinstance(attention, dict) or not isinstance(attention.get('type'), str):
        raise TypeError(f"{owner}: attention must be a kind's name or a dict with its type, "
                        f"e.g. dict(type='sra', cross_stage_residual=False), got {attention!r}")
    return {**defaults, **attention}


def attention_of_kind(owner: str, attention: Union[str, dict], kind: str, instead: str,
                      **defaults) -> dict:
    """``attention`` of a backbone that is one kind (PVT: 'sra', Swin: 'window') as a dict
    with ``defaults``; another type is refused, saying what to use ``instead``."""
    attention = attention_config(owner, attention, **defaults)
    if attention['type'] != kind:
        raise ValueError(f"{owner}: attention type {attention['type']!r}: {owner} is the "
                         f"{kind!r} kind; {instead}")
    return attention


STAGE_TYPES = ('attn', 'conv')


def with_stage_types(specs: List[StageSpec], stage_types: Optional[Sequence[str]],
                     owner: str) -> List[StageSpec]:
    """``stage_types`` (one of :data:`STAGE_TYPES` per stage, convolution stages first, as
    CoAtNet's C-C-T-T) applied to ``specs``; None keeps every stage 'attn'."""
    if stage_types is None:
        return specs
    types = [stage_types] if isinstance(stage_types, str) else list(stage_types)
    if len(types) != len(specs):
        raise ValueError(f'{owner}: stage_types has {len(types)} entries for {len(specs)} '
                         f'stages: give one of {STAGE_TYPES} per stage, e.g. '
                         f'{tuple(["conv"] * 2 + ["attn"] * (len(specs) - 2))}')
    unknown = [t for t in types if t not in STAGE_TYPES]
    if unknown:
        raise ValueError(f'{owner}: unknown stage type(s) {unknown} in stage_types: choose '
                         f'from {STAGE_TYPES}')
    if 'attn' not in types:
        raise ValueError(f"{owner}: stage_types {tuple(types)} has no 'attn' stage: this is a "
                         f"transformer backbone; keep at least the last stage 'attn', or use a "
                         f"CNN backbone")
    if 'conv' in types[types.index('attn'):]:
        raise ValueError(f"{owner}: stage_types {tuple(types)} puts a 'conv' stage after an "
                         f"'attn' stage; convolution stages go first (CoAtNet's C-C-T-T), so "
                         f"that attention stages follow each other: reorder them")
    return [dataclasses.replace(s, block_type=t) for s, t in zip(specs, types)]
