"""Attention kinds: how a backbone builds each block's attention, looked up by name.

A kind is a class registered under its name with :func:`register_attention_kind`. It states
which options (its ``Options``, a frozen dataclass whose fields are given in the backbone's
``attention``, ``less_attention`` and ``remedies`` dicts: ``options.py``) and arch keys it
takes (the backbone refuses every other one for it, naming the kinds that do take it), what
the stage around its layers looks like, and builds a
Vanilla-Attention (:meth:`AttentionKind.vanilla`) or Less-Attention (:meth:`AttentionKind.less`)
layer for block ``index`` of a stage. A kind is one file: its layers (each says what a
query's own key is for LSA, how its DP loss samples and how analysis reads its attention), its
option set, its per-stage arch keys and their checks (:meth:`AttentionKind.check_stage`), its
LaViT presets (``lavit_presets``) and its defaults for backbone arguments
(``default_norm_cfg``); plus its import in ``layers/__init__.py`` for a built-in one.
``tests/test_kind_conformance.py`` runs every registered kind, and one defined in the test,
through what a kind must support.

The layers a kind builds share one call: ``attn(x, hw, prev=None, extension=None) ->
(y, state)``, x: (B, N, C) tokens on grid ``hw``; ``prev``: the previous layer's
:class:`AttentionState` in the stage (an LA layer transforms it, a VA layer computes its own);
``extension``: the cross-stage residual's (q, k) extension, for the first layer of a stage of a
kind that ``carries_attention``. LA layers add the DP loss (``less_attention.py``).
"""
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

import torch.nn as nn

from .cross_stage import DEFAULT_RANK
from .dense_transform import LA_INITS
from .options import LESS_ATTENTION, REMEDIES, OptionSet, option

ATTENTION_KINDS: Dict[str, Type['AttentionKind']] = {}


def with_less_attention(arch: dict, va_share: int = 2) -> dict:
    """Stage 1 all VA; in later stages the first ceil(L / va_share) layers VA, then LA."""
    depths = arch['depths']
    return dict(arch, num_va=[depths[0]] + [math.ceil(d / va_share) for d in depths[1:]])


def register_attention_kind(cls: Type['AttentionKind']) -> Type['AttentionKind']:
    """Class decorator: makes ``attention=cls.name`` available to every backbone."""
    if cls.name in ATTENTION_KINDS and ATTENTION_KINDS[cls.name] is not cls:
        raise KeyError(f'attention kind {cls.name!r} is already registered by '
                       f'{ATTENTION_KINDS[cls.name].__qualname__}')
    ATTENTION_KINDS[cls.name] = cls
    return cls


def kinds_taking(group: str, key: str) -> list:
    """The registered kinds whose options take ``key`` in ``group``."""
    return sorted(n for n, k in ATTENTION_KINDS.items() if key in k.Options.keys(group))


def elsewhere(group: str, key: str) -> str:
    """For a refused key: the attention kinds that take it, if any (``read_groups``)."""
    takers = kinds_taking(group, key)
    return f' (attention={" / ".join(map(repr, takers))} takes it)' if takers else ''


@dataclass(frozen=True)
class KindOptions(OptionSet):
    """The options of a kind that declares no others.

    Attributes:
        patch_padding: 'corner' (pad right/bottom) or an int conv padding (0 floors sizes) of
            the kind's conv patch embeddings (``embed.py``).
    """
    patch_padding: Union[str, int] = 'corner'


@dataclass(frozen=True)
class CrossStageOptions(KindOptions):
    """The cross-stage residual's options, for a kind that ``carries_attention``.

    Attributes:
        cross_stage_residual: add the previous stage's attention to each stage's first layer
            (``cross_stage.py``; on for LaViT, off for PVT and PVT v2).
        cross_stage_rank: rank r of the residual's head map (r extra q/k dims in each stage's
            first layer); needs the residual.
    """
    cross_stage_residual: bool = option(True, 'bool')
    cross_stage_rank: int = option(DEFAULT_RANK, 'positive_int')

    def check(self, owner, given):
        if 'cross_stage_rank' in given and not self.cross_stage_residual:
            raise ValueError(f'{owner}: attention.cross_stage_rank applies to the cross-stage '
                             f'residual, which is off: remove it or set '
                             f'cross_stage_residual=True')
        super().check(owner, given)


@dataclass(frozen=True)
class BlockOptions(OptionSet):
    """Options of every built-in attention layer, the plain ViT's included. A new VA option
    is a field here and its use in ``AttentionBase.add_va_options``.

    Attributes:
        reattention: DeepViT's re-attention in every VA layer (a learnable H x H mix of the
            softmaxed heads, identity-init, then BatchNorm across heads; explicit attention
            there; ``reattention.py``).
        lsa: Locality Self-Attention in every VA layer: a learnable temperature per layer
            (init ``1/sqrt(d)``) and each query's own key masked (``locality.py``).
        la_init: how Theta/Psi of LA layers start: 'identity' (a fresh LA layer reproduces
            the attention it inherits) or 'linear' (PyTorch's default init of the map: a
            random linear map, far from the identity).
    """
    reattention: bool = option(False, 'bool', REMEDIES)
    lsa: bool = option(False, 'bool', REMEDIES)
    la_init: str = option('identity', LA_INITS, LESS_ATTENTION)


@dataclass(frozen=True)
class LayerOptions(KindOptions, BlockOptions):
    """Options of the built-in kinds' attention layers; a kind's set inherits them.

    Attributes:
        la_head_mix: LA layers also mix the transformed logits across heads (DeepViT's
            re-attention, identity init). Widens LA q/k by the number of heads.
    """
    la_head_mix: bool = option(False, 'bool', LESS_ATTENTION)


@dataclass(frozen=True)
class LayerArgs:
    """What every attention layer is built with."""
    dims: int
    num_heads: int
    qkv_bias: bool = True
    attn_drop: float = 0.
    proj_drop: float = 0.
    norm_cfg: dict = field(default_factory=lambda: dict(type='LN'))  # for a kind's own norms
    options: KindOptions = LayerOptions()  # the kind's options (LayerOptions for VA/LA ones)
    token_grid: Optional[Tuple[int, int]] = None  # the stage's grid at the kind's map size


class AttentionKind:
    """One kind of attention, with the options it takes.

    Class attributes:
        name: the ``attention=`` value.
        Options: the option set of this kind (a :class:`KindOptions` dataclass): the flat
            backbone keywords it takes, with defaults; the backbone refuses the others.
        stage_keys: per-stage arch keys the kind needs (e.g. ``sr_ratios``).
        arch_keys: arch-level keys it takes (e.g. ``window_size``).
        position_embedding: stages add a learned absolute position table (a kind may make
            it an option, as 'sra' does with ``use_abs_pos_embed``).
        embed_dropout: a dropout (``drop_rate``) after the first patch embedding, for kinds
            without a position table there (Swin's ``drop_after_pos``).
        patch_merging: stages after the first embed patches by Swin's 2x2 merging (else a
            conv patch embedding in every stage).
        norm_feeds_next: the next stage takes the normalised stage output (PVT v2's order)
            rather than the tokens before the output norm (Swin's).
        carries_attention: the kind's attention grids nest from stage to stage, so it can
            take the cross-stage residual and stages of LA layers only.
        default_norm_cfg: the backbone's ``norm_cfg`` for this kind when none is given (None:
            the backbone's own default).
        lavit_presets: ``LaViT(attention=name, arch=...)``'s named archs for this kind
            (``arch_zoo`` dicts; LaViT's own ``arch_zoo`` holds the 'sra' ones).
        toolbox_keywords: the OpenMMLab backbone whose architecture keywords LaViT reads for
            this kind ('PyramidVisionTransformerV2', 'SwinTransformer';
            ``backbones/toolbox_keywords.py``), or None.
    """
    name: ClassVar[str]
    Options: ClassVar[Type[KindOptions]] = KindOptions
    stage_keys: ClassVar[Tuple[str, ...]] = ()
    arch_keys: ClassVar[Tuple[str, ...]] = ()
    position_embedding: ClassVar[bool] = False
    embed_dropout: ClassVar[bool] = False
    patch_merging: ClassVar[bool] = False
    norm_feeds_next: ClassVar[bool] = True
    carries_attention: ClassVar[bool] = False
    default_norm_cfg: ClassVar[Optional[dict]] = None
    lavit_presets: ClassVar[Dict[str, dict]] = {}
    toolbox_keywords: ClassVar[Optional[str]] = None

    def __init__(self, owner: str, given: Mapping[str, Any]):
        """``given``: the kind's options the user set (field names of ``Options``,
        None-free; ``read_groups`` refused the keys it does not take)."""
        self.owner = owner
        self.given = dict(given)
        self.options = self.Options.parse(owner, given)

    @classmethod
    def check_stage(cls, owner: str, index: int, stage) -> None:
        """Refuses stage ``index``'s values of the kind's per-stage keys
        (``stage.kind_keys``, a :class:`StageSpec`'s); the stage's sizes are checked
        already."""

    @property
    def cross_stage_residual(self) -> bool:
        """Whether stages add the previous stage's attention (:class:`CrossStageOptions`, for
        kinds that ``carries_attention``)."""
        return getattr(self.options, 'cross_stage_residual', False)

    def cross_stage_rank(self) -> int:
        """The rank of the cross-stage residual's head map (``cross_stage.py``)."""
        return getattr(self.options, 'cross_stage_rank', DEFAULT_RANK)

    def layer_args(self, **common) -> LayerArgs:
        """The ``LayerArgs`` of this kind's layers: the backbone's ``common`` ones and the
        kind's options."""
        return LayerArgs(dims=0, num_heads=1, options=self.options, **common)

    def position_grid(self, stride: int) -> Optional[Tuple[int, int]]:
        """The grid of a stage's position table at ``stride`` (kinds with a table)."""
        return None

    def token_grid(self, stride: int) -> Optional[Tuple[int, int]]:
        """The token grid at ``stride`` that the stage's layers size their parameters for
        (``LayerArgs.token_grid``; 'sra' with dense LA maps), or None."""
        return None

    def vanilla(self, args: LayerArgs, stage, index: int) -> nn.Module:
        """The VA layer of block ``index`` of ``stage`` (a :class:`StageSpec`)."""
        raise NotImplementedError

    def less(self, args: LayerArgs, stage, index: int) -> nn.Module:
        """The LA layer of block ``index``; kinds without one keep this error."""
        raise ValueError(f'{self.owner}: attention={self.name!r} has no Less-Attention layer: '
                         f'set num_va equal to depths')
