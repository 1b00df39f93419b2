"""The one hierarchical vision transformer behind LaViT, PVT and Swin.

Stages at doubling strides; each is patch embedding + (position embedding) + a sequence of
blocks, the first ``num_va`` of them Vanilla-Attention (VA) layers, the rest Less-Attention
(LA) layers that transform the previous layer's attention instead of computing their own.
The attention kind (``layers/kind.py``: 'sra' for PVT's spatial reduction, 'window' for
Swin's shifted windows) builds the layers and decides the options that apply. A plain PVT is
this with ``num_va == depths`` and no cross-stage residual.
"""
import math
import re
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..aux_loss import ForwardContext
from ..layers import ATTENTION_KINDS, DenseRelativeLocalization, DPLossOptions
from ..layers.kind import elsewhere
from ..layers.options import check_range, read_groups, refuse_flat_keywords
from .base import LessAttentionBackbone
from .conv_stage import ConvStage
from .inputs import assert_finite
from .remedies import Remedies
from .weights import init_linear_or_layer_norm
from .spec import StageSpec, attention_config, resolve_arch, with_stage_types
from .stage import Stage


# PVT v2's parts: arch keys (written as such in the message for the old flat keywords)
ARCH_PARTS = {part: f'arch=dict(..., {part}=...)'
              for part in ('overlap_patch_embed', 'use_conv_ffn')}


class HierarchicalViT(LessAttentionBackbone):
    """Shared backbone implementation; subclasses provide ``arch_zoo`` and defaults.

    Options come grouped by concern (``layers/options.py``) and are parsed once into typed
    sets: the attention kind's (``attention`` and ``less_attention``:
    :class:`~lavit_mm.models.layers.SRAOptions` for 'sra',
    :class:`~lavit_mm.models.layers.WindowOptions` for 'window'), the DP loss's
    (``less_attention.dp_loss``: :class:`~lavit_mm.models.layers.DPLossOptions`) and the
    remedies' (:class:`~lavit_mm.models.backbones.remedies.Remedies` and the layers'
    ``reattention``/``lsa``). A key the chosen kind does not take, or an LA option for an arch
    without LA layers, is refused by name; so is a flat keyword of earlier versions, with its
    grouped spelling.

    Args:
        arch: a preset name from ``arch_zoo`` or a dict of per-stage lists ``embed_dims``,
            ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios`` ('sra' only), optional
            ``patch_sizes`` and ``num_va`` (VA layers per stage; the rest are LA), the kind's
            arch-level keys ('window': ``window_size``; 'sra': ``use_abs_pos_embed``) and PVT
            v2's parts: ``overlap_patch_embed`` ((2p-1)-wide patch kernels at stride p,
            padding p-1; not with ``patch_padding`` or ``spt``) and ``use_conv_ffn`` (a
            depthwise 3x3 conv in every MLP). Any number of stages.
        attention: the attention kind, 'sra' (PVT spatial reduction) or 'window' (Swin
            shifted windows) or any kind registered with ``register_attention_kind``; or a
            dict of its ``type`` and its options, e.g. ``dict(type='sra',
            cross_stage_residual=False)`` ('sra': ``pretrain_img_size``,
            ``use_abs_pos_embed``, ``cross_stage_residual`` (add the previous stage's attention
            to each stage's first layer), ``cross_stage_rank``, ``patch_padding``; 'window':
            ``window_size``, ``patch_padding``).
        in_channels: image channels.
        out_indices: stages whose feature maps are returned.
        qkv_bias: bias in the q/k/v projections.
        drop_rate: dropout after the position embedding, in the MLPs and attention outputs.
        attn_drop_rate: dropout on attention probabilities.
        drop_path_rate: stochastic depth, rising linearly to this over all blocks.
        less_attention: how LA layers work, for an arch with LA layers (refused without):
            ``transform``, ``init``, ``head_mix`` and the kind's (e.g. 'sra': ``kernel_size``,
            ``map_size``, ``key_stride``), and ``dp_loss=dict(weight, form, margin)``; the DP
            weight defaults to the class's ``default_dp_loss_weight`` (1.0 for LaViT).
        remedies: small-data remedies: ``reattention``, ``lsa`` (in VA layers), ``spt``,
            ``stage_types``, ``drloc_weight``, ``drloc_pairs`` (:class:`Remedies`).
        norm_after_stage: a ``norm_cfg`` norm on each stage's output (True), none (False), or
            a tuple of stage indices. With 'window', True means the returned stages only, as
            mmdet's Swin (the norm serves only the output there; an unused norm breaks DDP).
        act_cfg: the MLPs' activation.
        norm_cfg: every norm of the backbone (LayerNorm eps 1e-6 by default).
        frozen_stages: -1 trains everything; 0 freezes the first patch/position embedding;
            k >= 1 also freezes stages 1..k entirely. Re-applied on every ``train()``.
        norm_eval: keep BatchNorm layers (if any, e.g. in a custom norm_cfg) in eval mode.
        with_cp: gradient checkpointing per block (saves memory, costs a re-forward).
        check_finite: debug flag: raise when the input or a stage output holds NaN/Inf,
            naming where and which samples (costs one reduction per stage). Without it,
            non-finite input images are still refused in training (one reduction, no sync).
        init_cfg: None (a truncated-normal init) or ``dict(type='Pretrained',
            checkpoint=..., prefix=...)``, which loads weights with a report of missing/unused
            keys.
        **flat: refused: a flat option of earlier versions is named with its grouped
            spelling.
    """
    arch_zoo: Dict[str, dict] = {}

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 attention: Union[str, dict] = 'sra',
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 less_attention: Optional[dict] = None,
                 remedies: Optional[dict] = None,
                 norm_after_stage: Union[bool, Sequence[int]] = False,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 check_finite: bool = False,
                 init_cfg: Optional[dict] = None,
                 **flat):
        name = type(self).__name__
        refuse_flat_keywords(name, flat, [DPLossOptions, Remedies] + [
            k.Options for k in ATTENTION_KINDS.values()], moved=ARCH_PARTS)
        super().__init__(init_cfg, frozen_stages=frozen_stages, with_cp=with_cp,
                         check_finite=check_finite)
        attention = attention_config(name, attention)
        kind_cls = self._kind_class(name, attention['type'])
        self.attention = kind_cls.name
        given = read_groups(name, dict(
            attention={k: v for k, v in attention.items() if k != 'type'},
            less_attention=less_attention, remedies=remedies),
            [kind_cls.Options, DPLossOptions, Remedies], elsewhere)
        remedies = Remedies.parse(name, given[Remedies])
        kind = self._resolve(name, arch, kind_cls, given[kind_cls.Options],
                             given[DPLossOptions], remedies.stage_types)
        self._check_common(name, in_channels, out_indices, frozen_stages, dict(
            drop_rate=drop_rate, attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate))
        self.in_channels, self.norm_eval = in_channels, norm_eval
        self.num_features = [s.embed_dims for s in self.stage_specs]
        parts = self._arch_parts(name, self.arch)
        self._check_embedding_options(name, self.stage_specs, kind, remedies.spt, **parts)
        self.drloc_weight = float(remedies.drloc_weight)
        self.stages = self._build_stages(
            kind, remedies, in_channels=in_channels,
            norm_stages=self._norm_stages(name, norm_after_stage, kind, len(self.stage_specs)),
            common=dict(qkv_bias=qkv_bias, attn_drop=attn_drop_rate, proj_drop=drop_rate,
                        norm_cfg=norm_cfg),
            drop_path_rate=drop_path_rate, act_cfg=act_cfg, **parts)
        if norm_eval and not any(isinstance(m, _BatchNorm) for m in self.modules()):
            raise ValueError(f'{name}: norm_eval keeps BatchNorm layers in eval mode and this '
                             f'backbone has none (norm_cfg={norm_cfg}): remove it')
        self._register_dp_step()
        self.drloc = None
        if remedies.drloc_weight:
            self.drloc = DenseRelativeLocalization(self.stage_specs[-1].embed_dims,
                                                   remedies.drloc_pairs or 64)
            self.register_buffer('drloc_step', torch.zeros((), dtype=torch.long))
        self._freeze()

    def _build_stages(self, kind, remedies: Remedies, *,
                      in_channels: int, norm_stages: set, common: dict, drop_path_rate: float,
                      act_cfg: dict, overlap_patch_embed: bool, use_conv_ffn: bool
                      ) -> nn.ModuleList:
        """The stages of ``self.stage_specs``; ``common``: the layers' shared ``LayerArgs``."""
        specs, name, norm_cfg = self.stage_specs, type(self).__name__, common['norm_cfg']
        layer_args = kind.layer_args(**common)
        dpr = torch.linspace(0, drop_path_rate, sum(s.depth for s in specs)).tolist()
        rank = kind.cross_stage_rank()
        stages = nn.ModuleList()
        stride, prev_attention, channels, start = 1, None, in_channels, 0
        for i, spec in enumerate(specs):
            stride *= spec.patch_size
            rates = dpr[start:start + spec.depth]
            if spec.block_type == 'conv':
                stages.append(ConvStage(
                    spec, index=i, in_channels=channels, drop_path_rates=rates,
                    act_cfg=act_cfg, norm_cfg=norm_cfg, output_norm=i in norm_stages,
                    norm_feeds_next=kind.norm_feeds_next))
                channels, start, prev_attention = spec.embed_dims, start + spec.depth, None
                continue
            inherits = spec.depth > 0 and spec.num_va == 0
            if inherits:
                self._check_inheritance(name, i, kind, prev_attention)
            stages.append(Stage(
                spec, kind, index=i, in_channels=channels, layer_args=layer_args,
                drop_path_rates=rates, drop_rate=common['proj_drop'], act_cfg=act_cfg,
                norm_cfg=norm_cfg, pos_grid=kind.position_grid(stride),
                token_grid=kind.token_grid(stride),
                cross_stage=(*prev_attention, rank)
                if kind.cross_stage_residual and prev_attention and spec.depth and not inherits
                else None,
                inherits=prev_attention if inherits else None,
                output_norm=i in norm_stages, shifted_patches=remedies.spt and i == 0,
                overlap_patch_embed=overlap_patch_embed, conv_ffn=use_conv_ffn))
            channels, start = spec.embed_dims, start + spec.depth
            prev_attention = stages[-1].attention_shape() if spec.depth else None
        return stages

    @staticmethod
    def _kind_class(name: str, attention: str):
        if attention not in ATTENTION_KINDS:
            raise ValueError(f'{name}: unknown attention {attention!r}; choose one of '
                             f'{sorted(ATTENTION_KINDS)}')
        return ATTENTION_KINDS[attention]

    def _resolve(self, name: str, arch, kind_cls, kind_options: dict, dp_options: dict,
                 stage_types: Optional[Sequence[str]] = None):
        """Sets ``arch``, ``stage_specs``, the DP weight and margin; returns the attention
        kind built with the options given (field names, None-free; the rest are the kind's
        defaults)."""
        self.arch, specs = resolve_arch(arch, self.arch_zoo_for(kind_cls.name), name,
                                        kind_cls.stage_keys, kind_cls.arch_keys, kind_cls.name)
        self.stage_specs: List[StageSpec] = with_stage_types(specs, stage_types, name)
        for i, spec in enumerate(self.stage_specs):
            kind_cls.check_stage(name, i, spec)
        self._set_less_attention(
            any(s.num_la for s in self.stage_specs),
            [kind_cls.Options.spelling(o) for o in kind_options
             if o in kind_cls.Options.la_names()], dp_options,
            where='this arch (num_va == depths in every attention stage)',
            fix='give an attention stage LA layers (num_va < depth)')
        given = dict(kind_options)
        for key in kind_cls.arch_keys:  # an arch's own default for a kind option
            if key in self.arch and key not in given:
                given[key] = self.arch[key]
        kind = kind_cls(name, given)
        if kind.patch_merging and any(s.patch_size != 2 for s in self.stage_specs[1:]):
            raise ValueError(f'{name}: attention={kind.name!r} merges 2x2 patches after the '
                             f'first stage: patch_sizes after the first must be 2, got '
                             f'{[s.patch_size for s in self.stage_specs]}')
        return kind

    @staticmethod
    def _arch_parts(name: str, arch: dict) -> Dict[str, bool]:
        """PVT v2's parts, as the arch sets them (False when it does not)."""
        parts = {}
        for part in ARCH_PARTS:
            value = arch.get(part, False)
            if not isinstance(value, bool):
                raise TypeError(f'{name}: arch key {part} must be True or False, got {value!r}')
            parts[part] = value
        return parts

    def _check_common(self, name: str, in_channels, out_indices, frozen_stages,
                      rates: dict) -> None:
        """The options every kind takes; sets ``out_indices``."""
        num_stages = len(self.stage_specs)
        self.out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not self.out_indices or len(set(self.out_indices)) != len(self.out_indices) or \
                not all(0 <= i < num_stages for i in self.out_indices):
            raise ValueError(f'{name}: out_indices {self.out_indices} must be distinct stage '
                             f'indices in [0, {num_stages})')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{name}: frozen_stages={frozen_stages} not in [-1, {num_stages}]')
        check_range(name, 'in_channels', in_channels, 1, integer=True)
        for option, value in rates.items():
            check_range(name, option, value, 0., 1.)

    @staticmethod
    def _check_embedding_options(name: str, specs, kind, spt: bool,
                                 overlap_patch_embed: bool, use_conv_ffn: bool) -> None:
        """Options of the patch embeddings: each must have one to change, and the overlapping
        embedding sets the padding and the projection itself."""
        patch_padding = kind.given.get('patch_padding')
        if overlap_patch_embed and patch_padding is not None:
            raise ValueError(f'{name}: overlap_patch_embed pads each patch embedding by p-1 '
                             f'(PVT v2), so patch_padding={patch_padding!r} cannot apply: '
                             f'remove one of them')
        if overlap_patch_embed and spt:
            raise ValueError(f"{name}: spt and overlap_patch_embed both replace the first "
                             f"stage's patch embedding: choose one")
        if specs[0].block_type != 'conv':
            return
        if overlap_patch_embed and kind.patch_merging:
            raise ValueError(f"{name}: overlap_patch_embed applies to the first stage's patch "
                             f"embedding with attention={kind.name!r}, and stage 1 is a 'conv' "
                             f"stage: remove it or make stage 1 'attn'")
        if spt:
            raise ValueError(f"{name}: spt replaces the first stage's patch embedding, and "
                             f"stage 1 is a 'conv' stage (a conv stem): set spt=False or make "
                             f"stage 1 'attn'")
        if patch_padding is not None and kind.patch_merging:
            raise ValueError(f"{name}: patch_padding applies to the first stage's patch "
                             f"embedding with attention={kind.name!r}, and stage 1 is a 'conv' "
                             f"stage: remove it or make stage 1 'attn'")

    @staticmethod
    def _check_inheritance(name: str, index: int, kind, prev_attention) -> None:
        """A stage of LA layers only (num_va=0) needs an attention to inherit, on grids that
        nest in its own."""
        if not kind.carries_attention:
            raise ValueError(f'{name}: stage {index} has num_va=0 (LA layers only, inheriting '
                             f'the previous stage\'s attention), and attention={kind.name!r} '
                             f'does not carry attention across stages (its windows do not '
                             f'nest): give the stage a VA layer (num_va >= 1)')
        if prev_attention is None:
            raise ValueError(f"{name}: stage {index} has num_va=0 (LA layers only) and the "
                             f"stage before it computes no attention (a 'conv' stage or depth "
                             f"0): give it a VA layer (num_va >= 1)")

    def _norm_stages(self, name, norm_after_stage, kind, num_stages) -> set:
        if isinstance(norm_after_stage, bool):
            if not norm_after_stage:
                return set()
            # a norm that feeds the next stage is needed on every stage; otherwise only on
            # the returned ones
            return set(range(num_stages)) if kind.norm_feeds_next else set(self.out_indices)
        stages = set(norm_after_stage)
        if not all(isinstance(i, int) and 0 <= i < num_stages for i in stages):
            raise ValueError(f'{name}: norm_after_stage must be a bool or stage indices in '
                             f'[0, {num_stages}), got {norm_after_stage!r}')
        return stages

    @classmethod
    def arch_zoo_for(cls, attention: str) -> Dict[str, dict]:
        return cls.arch_zoo

    def _stage_depths(self) -> List[int]:
        """Blocks per stage, conv blocks included."""
        return [len(getattr(s, 'blocks', ())) for s in self.stages]

    def _num_blocks(self) -> int:
        return sum(self._stage_depths())

    def _layer_depth(self, name: str) -> Optional[int]:
        """A later stage's patch embedding goes with the last block before it (Swin's
        downsample), a stage's cross-stage residual with its first block (the layer that
        uses it), its output norm with its last block; a conv stem with the blocks before."""
        match = re.match(r'stages\.(\d+)\.(\w+)(?:\.(\d+))?', name)
        if match is None:
            return None
        depths = self._stage_depths()
        stage, part = int(match[1]), match[2]
        before = sum(depths[:stage])
        if part == 'blocks' and match[3] is not None:
            return before + int(match[3]) + 1
        if part == 'cross_stage':
            return before + 1
        if part == 'norm':
            return before + depths[stage]
        return before  # patch/position embedding, a conv stem

    def attention_blocks(self) -> List[List[nn.Module]]:
        """The transformer blocks per stage, as :meth:`attention_states` gives their
        attention (a conv stage has none): for analysis tools."""
        return [list(s.blocks) if isinstance(s, Stage) else [] for s in self.stages]

    # ------------------------------------------------------------------ forward
    def _run(self, x: torch.Tensor, ctx: ForwardContext,
             states: Optional[list] = None) -> tuple:
        """x: (B, C_in, H, W) -> the maps of ``out_indices``, (B, C_i, H_i, W_i) each."""
        outs, state = [], None
        for i, stage in enumerate(self.stages):
            stage_states = None if states is None else []
            x, out, state = stage(x, state, self.with_cp and self.training,
                                  states=stage_states, dp_inputs=ctx.dp_inputs)
            if states is not None:
                states.append(stage_states)
            if self.check_finite:
                assert_finite(out, f'the output of stage {i + 1}',
                              'lower the learning rate, clip gradients, or train in fp32')
            if i in self.out_indices:
                outs.append(out)
        ctx.last_map = out
        return tuple(outs)

    # ------------------------------------------------------------------ init / load
    def _init_from_scratch(self):
        for m in self.modules():
            if init_linear_or_layer_norm(m):
                continue
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif hasattr(m, 'init_tables'):  # position tables, relative position biases
                m.init_tables()
        # LA transforms stay the identity and the cross-stage mix stays zero (not reset above).

    # ------------------------------------------------------------------ train modes
    def frozen_parts(self) -> List[nn.Module]:
        """0: the first patch/position embedding; k >= 1: also stages 1..k entirely."""
        if self.frozen_stages < 0:
            return []
        first = self.stages[0]
        frozen: List[nn.Module] = [first.patch_embed]
        frozen += [first.pos_embed] if first.pos_embed is not None else []
        return frozen + list(self.stages[:self.frozen_stages])
