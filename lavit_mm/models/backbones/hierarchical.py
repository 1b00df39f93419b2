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
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers import ATTENTION_KINDS, DenseRelativeLocalization, LayerArgs
from ..layers.cross_stage import DEFAULT_RANK
from ..aux_loss import ComputesAuxLossesMixin, ForwardContext, refuse_uncollected
from .conv_stage import ConvStage
from .inputs import assert_finite, check_images, check_init_cfg, outputs_for_empty_batch
from .weights import freeze, init_linear_or_layer_norm, load_init_cfg
from .spec import StageSpec, resolve_arch, with_stage_types
from .stage import Stage

# the backbone's own options that configure Less-Attention layers (the DP loss); with the
# kind's ``la_options``, refused for an arch without any LA layer
LA_OPTIONS = ('dp_loss_weight', 'dp_margin')


def _check_range(owner: str, name: str, value, low, high=None, integer=False) -> None:
    """Refuses ``value`` outside [low, high) (or below ``low`` without ``high``)."""
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise TypeError(f'{owner}: {name} must be {"an int" if integer else "a number"}, '
                        f'got {value!r}')
    if value < low or (high is not None and value >= high):
        bound = f'in [{low}, {high})' if high is not None else f'>= {low}'
        raise ValueError(f'{owner}: {name} must be {bound}, got {value}')


class HierarchicalViT(ComputesAuxLossesMixin, BaseModule):
    """Shared backbone implementation; subclasses provide ``arch_zoo`` and defaults.

    Kind-specific options default to None, which means the kind's default; an option the
    chosen kind does not take, or an LA option for an arch without LA layers, is refused.

    Args:
        arch: a preset name from ``arch_zoo`` or a dict of per-stage lists ``embed_dims``,
            ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios`` ('sra' only), optional
            ``patch_sizes`` and ``num_va`` (VA layers per stage; the rest are LA), and for
            'window' an optional ``window_size``. Any number of stages.
        attention: the attention kind: 'sra' (PVT spatial reduction) or 'window' (Swin
            shifted windows), or any kind registered with ``register_attention_kind``.
        window_size: window side M ('window'; default: the arch's, else 7).
        in_channels: image channels.
        pretrain_img_size: image size the position tables are defined for ('sra'; 224).
        out_indices: stages whose feature maps are returned.
        qkv_bias: bias in the q/k/v projections.
        drop_rate: dropout after the position embedding, in the MLPs and attention outputs.
        attn_drop_rate: dropout on attention probabilities.
        drop_path_rate: stochastic depth, rising linearly to this over all blocks.
        patch_padding: 'corner' (pad right/bottom) or an int conv padding (0 floors sizes),
            of every stage's patch embedding ('sra') or the first one ('window').
        overlap_patch_embed: PVT v2's overlapping patch embedding ((2p-1)-wide kernels at
            stride p, padding p-1) in the same patch embeddings (default: the arch's, else
            False). Sets the padding: refused with ``patch_padding`` and with ``spt``.
        use_conv_ffn: PVT v2's depthwise 3x3 conv in every block's MLP (default: the arch's,
            else False).
        use_abs_pos_embed: the learned position tables ('sra'; default: the arch's, else
            True; PVT v2 drops them and relies on the two options above for positions).
        cross_stage_residual: add the previous stage's attention to each stage's first layer
            (kinds that support it, 'sra': on by default there). Windows of consecutive stages
            do not nest (shifted partitions, 2x2 windows per coarser window), so 'window'
            refuses it.
        cross_stage_rank: rank r of the residual's head map (r extra q/k dims in each stage's
            first layer; default 16; see ``layers/cross_stage.py``).
        la_kernel_size: kernel of the 'sra' LA token-grid transforms Theta/Psi (odd; 3).
        la_key_stride: 'sra' LA layers attend to a key grid this many times coarser than
            their stage's VA layers (1: the same grid, as the paper; 2: a quarter of the
            attention products; docs/performance.md).
        la_head_mix: LA layers also mix the transformed logits across heads (DeepViT's
            re-attention, identity init). Widens LA q/k by the number of heads.
        dp_loss_weight: weight of the Diagonality Preserving loss (0 turns it off and skips
            its computation; default: the class's, 1.0 for LaViT); reported as ``loss_dp`` by
            the task models of lavit_mm.
        reattention: DeepViT's re-attention in every VA layer (a learnable H x H mix of the
            softmaxed heads, identity-init, then BatchNorm across heads; explicit attention in
            those layers; ``layers/reattention.py``).
        lsa: Locality Self-Attention in every VA layer: a learnable temperature per layer
            (init ``1/sqrt(d)``) and each query's own key masked ('sra': the key cell holding
            the query; 'window': its own token; ``layers/locality.py``).
        spt: Shifted Patch Tokenization in the first stage's patch embedding (the image and
            its four diagonal half-patch shifts, LayerNorm, linear; ``layers/embed.py``).
        stage_types: one of 'attn'/'conv' per stage (default all 'attn'): 'conv' stages are
            CoAtNet's MBConv blocks with squeeze-excitation, first, e.g. ('conv', 'conv',
            'attn', 'attn'); widths and strides, so the feature pyramid, stay the arch's.
        drloc_weight: weight of the DRLoc auxiliary loss on the last stage's map (0: off),
            reported as ``loss_drloc`` by the task models of lavit_mm.
        drloc_pairs: position pairs per image for DRLoc (default 64; needs drloc_weight).
        dp_margin: the DP loss's dominance margin m (default 1): a diagonal entry should be at
            least (1 + m) times every other entry of its row (0 lets uniform attention satisfy
            the loss, which collapses the attention LA layers reuse; see
            ``layers/dp_loss.py``).
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
    """
    arch_zoo: Dict[str, dict] = {}
    default_dp_loss_weight = 0.

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 attention: str = 'sra',
                 window_size: Optional[int] = None,
                 in_channels: int = 3,
                 pretrain_img_size: Optional[int] = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 patch_padding: Union[str, int, None] = None,
                 overlap_patch_embed: Optional[bool] = None,
                 use_conv_ffn: Optional[bool] = None,
                 use_abs_pos_embed: Optional[bool] = None,
                 cross_stage_residual: Optional[bool] = None,
                 cross_stage_rank: Optional[int] = None,
                 la_kernel_size: Optional[int] = None,
                 la_key_stride: Optional[int] = None,
                 la_head_mix: Optional[bool] = None,
                 dp_loss_weight: Optional[float] = None,
                 dp_margin: Optional[float] = None,
                 reattention: Optional[bool] = None,
                 lsa: Optional[bool] = None,
                 spt: bool = False,
                 stage_types: Optional[Sequence[str]] = None,
                 drloc_weight: float = 0.,
                 drloc_pairs: Optional[int] = None,
                 norm_after_stage: Union[bool, Sequence[int]] = False,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 check_finite: bool = False,
                 init_cfg: Optional[dict] = None):
        name = type(self).__name__
        check_init_cfg(name, init_cfg)
        super().__init__(init_cfg=init_cfg)
        self.attention = attention
        kind = self._resolve(name, arch, attention, dict(
            window_size=window_size, pretrain_img_size=pretrain_img_size,
            use_abs_pos_embed=use_abs_pos_embed, patch_padding=patch_padding,
            la_kernel_size=la_kernel_size,
            la_key_stride=la_key_stride, la_head_mix=la_head_mix,
            cross_stage_rank=cross_stage_rank, reattention=reattention, lsa=lsa),
            dp_loss_weight, dp_margin, stage_types)
        specs, num_stages = self.stage_specs, len(self.stage_specs)
        if cross_stage_residual is None:
            cross_stage_residual = kind.cross_stage_residual
        if cross_stage_residual and not kind.cross_stage_residual:
            raise ValueError(f'{name}: cross_stage_residual is not defined for attention='
                             f'{attention!r}: windows of consecutive stages do not nest '
                             f'(docs/design.md); set it False or use attention=\'sra\'')
        if cross_stage_rank is not None and not cross_stage_residual:
            raise ValueError(f'{name}: cross_stage_rank applies to the cross-stage residual, '
                             f'which is off: remove it or set cross_stage_residual=True')
        self.out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        if not self.out_indices or len(set(self.out_indices)) != len(self.out_indices) or \
                not all(0 <= i < num_stages for i in self.out_indices):
            raise ValueError(f'{name}: out_indices {self.out_indices} must be distinct stage '
                             f'indices in [0, {num_stages})')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{name}: frozen_stages={frozen_stages} not in [-1, {num_stages}]')
        _check_range(name, 'in_channels', in_channels, 1, integer=True)
        for option, value in (('drop_rate', drop_rate), ('attn_drop_rate', attn_drop_rate),
                              ('drop_path_rate', drop_path_rate)):
            _check_range(name, option, value, 0., 1.)
        self.in_channels = in_channels
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.check_finite = check_finite
        self.num_features = [s.embed_dims for s in specs]
        overlap_patch_embed, use_conv_ffn = (
            bool(self.arch.get(option, False)) if value is None else value
            for option, value in (('overlap_patch_embed', overlap_patch_embed),
                                  ('use_conv_ffn', use_conv_ffn)))
        self._check_embedding_options(name, specs, kind, spt, patch_padding,
                                      overlap_patch_embed, use_conv_ffn)
        _check_range(name, 'drloc_weight', drloc_weight, 0.)
        if drloc_pairs is not None:
            if not drloc_weight:
                raise ValueError(f'{name}: drloc_pairs configures the DRLoc loss, which is off '
                                 f'(drloc_weight=0): remove it or set drloc_weight > 0')
            _check_range(name, 'drloc_pairs', drloc_pairs, 1, integer=True)
        self.drloc_weight = float(drloc_weight)

        norm_stages = self._norm_stages(name, norm_after_stage, kind, num_stages)
        layer_args = LayerArgs(dims=0, num_heads=1, qkv_bias=qkv_bias, attn_drop=attn_drop_rate,
                               proj_drop=drop_rate, norm_cfg=norm_cfg,
                               head_mix=bool(kind.config.get('la_head_mix', False)),
                               reattention=bool(kind.config.get('reattention', False)),
                               lsa=bool(kind.config.get('lsa', False)))
        dpr = torch.linspace(0, drop_path_rate, sum(s.depth for s in specs)).tolist()
        size = kind.config.get('pretrain_img_size')
        self.stages = nn.ModuleList()
        stride, prev_attention, channels, start = 1, None, in_channels, 0
        for i, spec in enumerate(specs):
            stride *= spec.patch_size
            if spec.block_type == 'conv':
                self.stages.append(ConvStage(
                    spec, index=i, in_channels=channels,
                    drop_path_rates=dpr[start:start + spec.depth], act_cfg=act_cfg,
                    norm_cfg=norm_cfg, output_norm=i in norm_stages,
                    norm_feeds_next=kind.norm_feeds_next))
                channels, start, prev_attention = spec.embed_dims, start + spec.depth, None
                continue
            inherits = spec.depth > 0 and spec.num_va == 0
            if inherits:
                self._check_inheritance(name, i, kind, prev_attention)
            self.stages.append(Stage(
                spec, kind, index=i, in_channels=channels, layer_args=layer_args,
                drop_path_rates=dpr[start:start + spec.depth], drop_rate=drop_rate,
                act_cfg=act_cfg, norm_cfg=norm_cfg,
                pos_grid=(size // stride, size // stride) if size else None,
                cross_stage=(*prev_attention, kind.config.get('cross_stage_rank', DEFAULT_RANK))
                if cross_stage_residual and prev_attention and spec.depth and not inherits
                else None,
                inherits=prev_attention if inherits else None,
                output_norm=i in norm_stages, shifted_patches=spt and i == 0,
                overlap_patch_embed=overlap_patch_embed, conv_ffn=use_conv_ffn))
            channels, start = spec.embed_dims, start + spec.depth
            prev_attention = self.stages[-1].attention_shape() if spec.depth else None
        if norm_eval and not any(isinstance(m, _BatchNorm) for m in self.modules()):
            raise ValueError(f'{name}: norm_eval keeps BatchNorm layers in eval mode and this '
                             f'backbone has none (norm_cfg={norm_cfg}): remove it')
        if any(s.num_la for s in specs):
            # training steps taken, for the DP loss's sampling: in checkpoints, so a resumed
            # run samples what the uninterrupted one would have
            self.register_buffer('dp_step', torch.zeros((), dtype=torch.long))
        self.drloc = None
        if drloc_weight:
            self.drloc = DenseRelativeLocalization(specs[-1].embed_dims, drloc_pairs or 64)
            self.register_buffer('drloc_step', torch.zeros((), dtype=torch.long))
        self._aux_losses: Dict[str, torch.Tensor] = {}
        self._freeze_stages()

    def _resolve(self, name: str, arch, attention: str, kind_options: dict,
                 dp_loss_weight: Optional[float], dp_margin: Optional[float],
                 stage_types: Optional[Sequence[str]] = None):
        """Sets ``arch``, ``stage_specs``, the DP weight and margin; returns the attention
        kind built with the options given (None: the kind's default), each checked."""
        if attention not in ATTENTION_KINDS:
            raise ValueError(f'{name}: unknown attention {attention!r}; choose one of '
                             f'{sorted(ATTENTION_KINDS)}')
        kind_cls = ATTENTION_KINDS[attention]
        self.arch, specs = resolve_arch(arch, self.arch_zoo_for(attention), name,
                                        kind_cls.stage_keys, kind_cls.arch_keys, attention)
        specs = with_stage_types(specs, stage_types, name)
        self.stage_specs: List[StageSpec] = specs
        given = {k: v for k, v in kind_options.items() if v is not None}
        if not any(s.num_la for s in specs):
            for option, value in dict(given, dp_loss_weight=dp_loss_weight,
                                      dp_margin=dp_margin).items():
                if option in LA_OPTIONS + kind_cls.la_options and value is not None:
                    raise ValueError(f'{name}: {option} configures Less-Attention layers and '
                                     f'this arch has none (num_va == depths in every '
                                     f'attention stage): remove it, or give an attention '
                                     f'stage LA layers (num_va < depth)')
        for key in kind_cls.arch_keys:  # an arch's own default for a kind option
            if key in self.arch and key not in given:
                given[key] = self.arch[key]
        kind = kind_cls(name, **given)
        self._check_options(name, kind, given, specs)
        self.dp_loss_weight = float(self.default_dp_loss_weight if dp_loss_weight is None
                                    else dp_loss_weight)
        self.dp_margin = float(1.0 if dp_margin is None else dp_margin)
        _check_range(name, 'dp_loss_weight', self.dp_loss_weight, 0.)
        _check_range(name, 'dp_margin', self.dp_margin, 0.)
        return kind

    @staticmethod
    def _check_embedding_options(name: str, specs, kind, spt: bool, patch_padding,
                                 overlap_patch_embed: bool, use_conv_ffn: bool) -> None:
        """Options of the patch embeddings: each must have one to change, and the overlapping
        embedding sets the padding and the projection itself."""
        for option, value in (('overlap_patch_embed', overlap_patch_embed),
                              ('use_conv_ffn', use_conv_ffn)):
            if not isinstance(value, bool):
                raise TypeError(f'{name}: {option} must be True or False, got {value!r}')
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
        if not kind.cross_stage_residual:
            raise ValueError(f'{name}: stage {index} has num_va=0 (LA layers only, inheriting '
                             f'the previous stage\'s attention), and attention={kind.name!r} '
                             f'does not carry attention across stages (its windows do not '
                             f'nest): give the stage a VA layer (num_va >= 1)')
        if prev_attention is None:
            raise ValueError(f"{name}: stage {index} has num_va=0 (LA layers only) and the "
                             f"stage before it computes no attention (a 'conv' stage or depth "
                             f"0): give it a VA layer (num_va >= 1)")

    @staticmethod
    def _check_options(name: str, kind, given: dict, specs: Sequence[StageSpec]) -> None:
        """Sizes given as kind options are positive ints, checked here only (the layers check
        what else they need: an odd LA kernel, a valid patch padding), and the patch sizes
        suit the kind."""
        for option in ('window_size', 'pretrain_img_size', 'la_key_stride', 'cross_stage_rank',
                       'la_kernel_size'):
            if option in given:
                _check_range(name, option, given[option], 1, integer=True)
        if kind.patch_merging and any(s.patch_size != 2 for s in specs[1:]):
            raise ValueError(f'{name}: attention={kind.name!r} merges 2x2 patches after the '
                             f'first stage: patch_sizes after the first must be 2, got '
                             f'{[s.patch_size for s in specs]}')

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

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """(depth, number of depths) of a parameter, for layer-wise learning-rate decay
        (mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` calls it; the lr scale is
        ``rate ** (num - depth - 1)``). As mmpretrain's ViT/Swin: the first patch and
        position embedding 0, block k (counted through the stages, VA and LA alike) k + 1,
        a later stage's patch embedding with the last block before it (Swin's downsample),
        a stage's cross-stage residual with its first block (the layer that uses it), a
        stage's output norm with its last block; anything else (a DRLoc head, the task
        model's neck/head) num - 1. An LA layer's Theta/Psi are its block's: they take the
        place of its q/k. ``prefix``: the backbone's in the parameter names ('backbone.')."""
        depths = [len(getattr(s, 'blocks', ())) for s in self.stages]
        num = sum(depths) + 2
        if not param_name.startswith(prefix):
            return num - 1, num
        match = re.match(r'stages\.(\d+)\.(\w+)(?:\.(\d+))?', param_name[len(prefix):])
        if match is None:
            return num - 1, num
        stage, part = int(match[1]), match[2]
        before = sum(depths[:stage])
        if part == 'blocks' and match[3] is not None:
            return before + int(match[3]) + 1, num
        if part == 'cross_stage':
            return before + 1, num
        if part == 'norm':
            return before + depths[stage], num
        return before, num  # patch/position embedding, a conv stem

    def attention_blocks(self) -> List[List[nn.Module]]:
        """The transformer blocks per stage, as :meth:`attention_states` gives their
        attention (a conv stage has none): for analysis tools."""
        return [list(s.blocks) if isinstance(s, Stage) else [] for s in self.stages]

    @property
    def la_layers(self) -> List[nn.Module]:
        """The Less-Attention layers, in forward order."""
        return [b.attn for s in self.stages for b in s.blocks if b.is_less_attention]

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor):
        """x: (B, C_in, H, W) -> the maps of ``out_indices``, (B, C_i, H_i, W_i) each. In
        training, the DP loss is kept for :meth:`aux_losses`."""
        name = type(self).__name__
        check_images(name, x, self.training, self.check_finite)
        if x.shape[0] == 0:
            return outputs_for_empty_batch(self, x)
        if self.training:
            refuse_uncollected(name, self._aux_losses)
        ctx = ForwardContext(dp_inputs=[] if self.training and self.dp_loss_weight > 0
                             else None)
        outs, state = [], None
        for i, stage in enumerate(self.stages):
            x, out, state = stage(x, state, self.with_cp and self.training,
                                  dp_inputs=ctx.dp_inputs)  # (B, C, H, W)
            if self.check_finite:
                assert_finite(out, f'the output of stage {i + 1}',
                              'lower the learning rate, clip gradients, or train in fp32')
            if i in self.out_indices:
                outs.append(out)
        ctx.last_map = out
        self._aux_losses = {}
        if self.training:
            self._aux_losses = self._compute_aux_losses(ctx)
        return tuple(outs)

    def attention_states(self, x: torch.Tensor) -> List[list]:
        """Every block's attention, per stage (factored :class:`AttentionState`; its
        ``logits()`` materialises them): for analysis tools and tests."""
        per_stage, state = [], None
        for stage in self.stages:
            states: list = []
            x, _, state = stage(x, state, states=states)
            per_stage.append(states)
        return per_stage

    # ------------------------------------------------------------------ init / load
    def init_weights(self):
        self._init_from_scratch()
        load_init_cfg(self)
        self._is_init = True

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
    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        first = self.stages[0]
        frozen: List[nn.Module] = [first.patch_embed]
        frozen += [first.pos_embed] if first.pos_embed is not None else []
        frozen += list(self.stages[:self.frozen_stages])
        freeze(frozen)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
