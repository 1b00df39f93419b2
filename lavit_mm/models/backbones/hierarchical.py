"""The one hierarchical vision transformer behind LaViT and PVT.

Four stages at strides 4/8/16/32; each is patch embedding + position embedding + a sequence of
blocks, the first ``num_va`` of them Vanilla-Attention (VA) layers, the rest Less-Attention
(LA) layers that transform the previous layer's attention instead of computing their own.
A plain PVT is this with ``num_va == depths`` and no cross-stage residual.
"""
import copy
import math
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch.nn.modules.batchnorm import _BatchNorm

from ..checkpoint import load_pretrained
from ..layers import (CrossStageResidual, PatchEmbed, PatchMerging, PositionEmbedding,
                      SRAttention, SRLessAttention, TransformerBlock, WindowAttention,
                      WindowLessAttention, nlc_to_nchw)

ATTENTION_KINDS = ('sra', 'window')
PER_STAGE_KEYS = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios', 'patch_sizes', 'num_va')


def resolve_arch(arch: Union[str, dict], arch_zoo: Dict[str, dict], owner: str,
                 attention: str = 'sra') -> dict:
    """Turns a preset name or a dict into a checked dict of per-stage lists."""
    keys = PER_STAGE_KEYS + (('sr_ratios', ) if attention == 'sra' else ())
    if isinstance(arch, str):
        if arch.lower() not in arch_zoo:
            raise ValueError(f'{owner}: unknown arch {arch!r}; choose one of '
                             f'{sorted(arch_zoo)} or pass a dict with keys {keys}')
        arch = arch_zoo[arch.lower()]
    if not isinstance(arch, dict):
        raise TypeError(f'{owner}: arch must be a preset name or a dict, got {type(arch)}')
    arch = copy.deepcopy(arch)
    if 'window_size' in arch and attention != 'window':
        raise ValueError(f"{owner}: arch key 'window_size' applies to attention='window' only")
    arch.setdefault('patch_sizes', [4, 2, 2, 2])
    arch.setdefault('num_va', list(arch.get('depths', [])))
    missing = [k for k in keys if k not in arch]
    if missing:
        raise ValueError(f'{owner}: arch dict is missing {missing}')
    lengths = {k: len(arch[k]) for k in keys}
    if len(set(lengths.values())) != 1:
        raise ValueError(f'{owner}: per-stage lists in arch must all have one entry per stage, '
                         f'got lengths {lengths}')
    for i, (dims, heads, depth, va) in enumerate(
            zip(arch['embed_dims'], arch['num_heads'], arch['depths'], arch['num_va'])):
        if dims % heads:
            raise ValueError(f'{owner}: stage {i}: embed_dims {dims} not divisible by '
                             f'num_heads {heads}')
        if not (depth == 0 or 1 <= va <= depth):
            raise ValueError(f'{owner}: stage {i}: num_va={va} must be in [1, depth={depth}]: '
                             f'an LA layer needs a VA layer before it in its stage')
    return arch


def build_attention(cfg: dict, less: bool, index: int, dims: int, num_heads: int,
                    sr_ratio: Optional[int]) -> nn.Module:
    """The attention of the ``index``-th block of a stage: VA or LA, of ``cfg['attention']``
    kind. Window VA layers alternate plain and shifted windows, as in Swin."""
    common = dict(dims=dims, num_heads=num_heads, qkv_bias=cfg['qkv_bias'],
                  attn_drop=cfg['attn_drop_rate'], proj_drop=cfg['drop_rate'])
    if cfg['attention'] == 'sra':
        common.update(sr_ratio=sr_ratio, norm_cfg=cfg['norm_cfg'])
        if less:
            return SRLessAttention(**common, kernel_size=cfg['la_kernel_size'],
                                   head_mix=cfg['la_head_mix'], key_stride=cfg['la_key_stride'])
        return SRAttention(**common)
    common.update(window_size=cfg['window_size'])
    if less:
        return WindowLessAttention(**common, head_mix=cfg['la_head_mix'])
    return WindowAttention(**common, shift=index % 2 == 1)


class Stage(nn.Module):
    """Patch embedding (a conv for 'sra', Swin's patch merging after the first 'window'
    stage), position embedding ('sra' only), VA then LA blocks, and an output norm.

    With 'sra' the normalised output also feeds the next stage (PVT v2's order); with
    'window' the next stage takes the tokens before the output norm (Swin's order).
    """

    def __init__(self, index, in_channels, dims, depth, num_va, num_heads, mlp_ratio,
                 sr_ratio, patch_size, pos_grid, prev_attention, cfg, drop_path_rates):
        super().__init__()
        sra = cfg['attention'] == 'sra'
        norm_cfg = cfg['norm_cfg']
        if sra or index == 0:
            self.patch_embed = PatchEmbed(in_channels, dims, patch_size, cfg['patch_padding'],
                                          norm_cfg)
        else:
            self.patch_embed = PatchMerging(in_channels, dims, norm_cfg)
        self.pos_embed = PositionEmbedding(pos_grid, dims, cfg['drop_rate']) if sra else None
        self.pos_drop = nn.Dropout(cfg['drop_rate']) if not sra and index == 0 else None
        self.blocks = nn.ModuleList([
            TransformerBlock(
                dims, build_attention(cfg, j >= num_va, j, dims, num_heads, sr_ratio),
                mlp_ratio, cfg['drop_rate'], drop_path_rates[j], cfg['act_cfg'], norm_cfg)
            for j in range(depth)
        ])
        self.cross_stage = CrossStageResidual(*prev_attention, num_heads,
                                              cfg['cross_stage_rank']) if prev_attention else None
        self.norm = nn.LayerNorm(dims, eps=norm_cfg.get('eps', 1e-5)) \
            if index in cfg['norm_stages'] else nn.Identity()
        self.norm_feeds_next = sra

    def attention_shape(self):
        """(heads, per-head q/k width) of the stage's last attention, without extensions."""
        attn = self.blocks[-1].attn
        mixed = getattr(attn, 'head_mix', None) is not None
        return attn.num_heads, attn.head_dims * (attn.num_heads if mixed else 1)

    def forward(self, x, prev_state=None, with_cp=False, states: Optional[list] = None):
        """x: (B, C_in, H, W) -> the next stage's input and this stage's output (both
        (B, C, H', W')), the stage's last attention, and its DP losses. Each block's
        attention is appended to ``states`` if given."""
        x, hw = self.patch_embed(x)  # (B, N, C)
        if self.pos_embed is not None:
            x = self.pos_embed(x, hw)
        elif self.pos_drop is not None:
            x = self.pos_drop(x)
        state, dp_losses = None, []
        for j, block in enumerate(self.blocks):
            if j == 0:
                context = None
                if self.cross_stage is not None and prev_state is not None:
                    context = self.cross_stage(prev_state, hw, block.attn.key_grid(hw))
            else:
                context = state if block.is_less_attention else None
            if with_cp and x.requires_grad:
                x, state, dp = cp.checkpoint(block, x, hw, context, use_reentrant=False)
            else:
                x, state, dp = block(x, hw, context)
            if dp is not None:
                dp_losses.append(dp)
            if states is not None:
                states.append(state)
        out = nlc_to_nchw(self.norm(x), hw)  # (B, C, H', W')
        x_next = out if self.norm_feeds_next else nlc_to_nchw(x, hw)
        return x_next, out, state, dp_losses


def _assert_finite(x: torch.Tensor, what: str, fix: str) -> None:
    bad = ~torch.isfinite(x)
    if bad.any():
        samples = bad.flatten(1).any(1).nonzero().flatten().tolist()
        raise FloatingPointError(f'{what} hold NaN/Inf ({int(bad.sum())} values, batch '
                                 f'samples {samples}): {fix}')


class HierarchicalViT(BaseModule):
    """Shared backbone implementation; subclasses provide ``arch_zoo`` and defaults.

    Args:
        arch: a preset name from ``arch_zoo`` or a dict of per-stage lists ``embed_dims``,
            ``depths``, ``num_heads``, ``mlp_ratios``, ``sr_ratios`` ('sra' only), optional
            ``patch_sizes`` and ``num_va`` (VA layers per stage; the rest are LA).
        attention: 'sra' (PVT spatial reduction) or 'window' (Swin shifted windows).
        window_size: window side M of 'window' attention; None: the arch's ``window_size``
            if it has one (the ``-32px`` presets), else 7.
        in_channels: image channels.
        pretrain_img_size: image size the position tables are defined for.
        out_indices: stages whose feature maps are returned.
        patch_padding: 'corner' (pad right/bottom) or an int conv padding (0 floors sizes).
        cross_stage_residual: add the previous stage's attention to each stage's first layer
            ('sra' only; default: on for 'sra'). Windows of consecutive stages do not nest
            (shifted partitions, 2x2 windows per coarser window), so it is not defined there.
        cross_stage_rank: rank r of the residual's head map (r extra q/k dims in each stage's
            first layer; see ``layers/cross_stage.py``).
        la_kernel_size: kernel of the 'sra' LA token-grid transforms Theta/Psi.
        la_key_stride: 'sra' LA layers attend to a key grid this many times coarser than
            their stage's VA layers (1: the same grid, as the paper; 2: a quarter of the
            attention products; docs/performance.md).
        la_head_mix: LA layers also mix the transformed logits across heads (DeepViT's
            re-attention, identity init). Widens LA q/k by the number of heads.
        dp_loss_weight: weight of the Diagonality Preserving loss (0 turns it off and skips
            its computation); reported as ``loss_dp`` by the task models of lavit_mm.
        dp_margin: the DP loss's dominance margin m: a diagonal entry should be at least
            (1 + m) times every other entry of its row (0 lets uniform attention satisfy the
            loss, which collapses the attention LA layers reuse; see ``layers/dp_loss.py``).
        norm_after_stage: LayerNorm each stage's output (True), none (False), or a tuple of
            stage indices. With 'window', True means the returned stages only, as mmdet's Swin
            (the norm serves only the output there; an unused norm breaks DDP).
        frozen_stages: -1 trains everything; 0 freezes the first patch/position embedding;
            k >= 1 also freezes stages 1..k entirely. Re-applied on every ``train()``.
        norm_eval: keep BatchNorm layers (if any, e.g. in a custom norm_cfg) in eval mode.
        with_cp: gradient checkpointing per block (saves memory, costs a re-forward).
        check_finite: debug flag: raise when the input or a stage output holds NaN/Inf,
            naming where (costs one reduction per stage).
        init_cfg: ``dict(type='Pretrained', checkpoint=..., prefix=...)`` loads weights with a
            report of missing/unused keys; otherwise a truncated-normal init.
    """
    arch_zoo: Dict[str, dict] = {}

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 attention: str = 'sra',
                 window_size: Optional[int] = None,
                 in_channels: int = 3,
                 pretrain_img_size: int = 224,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 patch_padding: Union[str, int] = 'corner',
                 cross_stage_residual: Optional[bool] = None,
                 cross_stage_rank: int = 16,
                 la_kernel_size: int = 3,
                 la_key_stride: int = 1,
                 la_head_mix: bool = False,
                 dp_loss_weight: float = 0.,
                 dp_margin: float = 1.0,
                 norm_after_stage: Union[bool, Sequence[int]] = False,
                 act_cfg: dict = dict(type='GELU'),
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 check_finite: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if attention not in ATTENTION_KINDS:
            raise ValueError(f'{name}: unknown attention {attention!r}; choose one of '
                             f'{ATTENTION_KINDS}')
        if cross_stage_residual is None:
            cross_stage_residual = attention == 'sra'
        if cross_stage_residual and attention != 'sra':
            raise ValueError(f'{name}: cross_stage_residual is defined for sra attention only: '
                             f'windows of consecutive stages do not nest (docs/design.md)')
        if window_size is not None and attention != 'window':
            raise ValueError(f"{name}: window_size applies to attention='window' only")
        self.attention = attention
        self.arch = resolve_arch(arch, self.arch_zoo_for(attention), name, attention)
        if attention == 'window' and window_size is None:
            window_size = self.arch.get('window_size', 7)
        num_stages = len(self.arch['depths'])
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        for i in out_indices:
            if not 0 <= i < num_stages:
                raise ValueError(f'{name}: out_indices {out_indices} must be in [0, {num_stages})')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{name}: frozen_stages={frozen_stages} not in [-1, {num_stages}]')
        self.in_channels = in_channels
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.check_finite = check_finite
        self.dp_loss_weight = float(dp_loss_weight)
        self.num_features = list(self.arch['embed_dims'])
        cfg = dict(attention=attention, window_size=window_size, patch_padding=patch_padding,
                   qkv_bias=qkv_bias, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                   la_kernel_size=la_kernel_size, la_head_mix=la_head_mix,
                   cross_stage_rank=cross_stage_rank, la_key_stride=la_key_stride,
                   act_cfg=act_cfg, norm_cfg=norm_cfg,
                   norm_stages=self._norm_stages(norm_after_stage, attention, num_stages))

        a = self.arch
        dpr = torch.linspace(0, drop_path_rate, sum(a['depths'])).tolist()
        self.stages = nn.ModuleList()
        stride, prev_attention, channels = 1, None, in_channels
        for i in range(num_stages):
            stride *= a['patch_sizes'][i]
            start = sum(a['depths'][:i])
            self.stages.append(Stage(
                i, channels, a['embed_dims'][i], a['depths'][i], a['num_va'][i],
                a['num_heads'][i], a['mlp_ratios'][i], a.get('sr_ratios', [None] * 4)[i],
                a['patch_sizes'][i], (pretrain_img_size // stride, pretrain_img_size // stride),
                prev_attention if cross_stage_residual else None, cfg,
                dpr[start:start + a['depths'][i]]))
            channels = a['embed_dims'][i]
            prev_attention = self.stages[-1].attention_shape() if a['depths'][i] else None
        self._la_layers = [m for m in self.modules()
                           if isinstance(m, (SRLessAttention, WindowLessAttention))]
        if dp_margin < 0:
            raise ValueError(f'{name}: dp_margin must be >= 0, got {dp_margin}')
        for m in self._la_layers:
            m.compute_dp_loss = self.dp_loss_weight > 0
            m.dp_margin = float(dp_margin)
        if self.dp_loss_weight > 0 and self._la_layers:
            # training steps taken, for the DP loss's sampling: in checkpoints, so a resumed
            # run samples what the uninterrupted one would have
            self.register_buffer('dp_step', torch.zeros((), dtype=torch.long))
        self._aux_losses: Dict[str, torch.Tensor] = {}
        self._freeze_stages()

    def _norm_stages(self, norm_after_stage, attention, num_stages) -> set:
        if not isinstance(norm_after_stage, bool):
            return set(norm_after_stage)
        if not norm_after_stage:
            return set()
        return set(range(num_stages)) if attention == 'sra' else set(self.out_indices)

    @classmethod
    def arch_zoo_for(cls, attention: str) -> Dict[str, dict]:
        return cls.arch_zoo

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor):
        if self.training and hasattr(self, 'dp_step'):
            step = int(self.dp_step)
            for i, m in enumerate(self._la_layers):
                m.dp_seed = step * len(self._la_layers) + i
            self.dp_step += 1
        if self.check_finite:
            _assert_finite(x, 'the input images',
                           'check the data pipeline and the data preprocessor (mean/std)')
        outs, state, dp_losses = [], None, []
        for i, stage in enumerate(self.stages):
            x, out, state, dp = stage(x, state, self.with_cp and self.training)  # (B,C,H,W)
            if self.check_finite:
                _assert_finite(out, f'the output of stage {i + 1}',
                               'lower the learning rate, clip gradients, or train in fp32')
            dp_losses += dp
            if i in self.out_indices:
                outs.append(out)
        self._aux_losses = {}
        if dp_losses:
            self._aux_losses['loss_dp'] = self.dp_loss_weight * torch.stack(dp_losses).mean()
        return tuple(outs)

    def attention_states(self, x: torch.Tensor) -> List[list]:
        """Every block's attention, per stage (factored :class:`AttentionState`; its
        ``logits()`` materialises them): for analysis tools and tests."""
        per_stage, state = [], None
        for stage in self.stages:
            states: list = []
            x, _, state, _ = stage(x, state, states=states)
            per_stage.append(states)
        return per_stage

    def aux_losses(self) -> Dict[str, torch.Tensor]:
        """Auxiliary losses of the last training forward (``loss_dp``), then cleared."""
        losses, self._aux_losses = self._aux_losses, {}
        return losses

    # ------------------------------------------------------------------ init / load
    def init_weights(self):
        self._init_from_scratch()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            load_pretrained(self, self.init_cfg['checkpoint'], prefix=self.init_cfg.get('prefix'),
                            logger=MMLogger.get_current_instance())
        self._is_init = True

    def _init_from_scratch(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, PositionEmbedding):
                trunc_normal_(m.pos_embed, std=.02)
            elif isinstance(m, WindowAttention):
                trunc_normal_(m.relative_position_bias_table, std=.02)
        # LA transforms stay the identity and the cross-stage mix stays zero (not reset above).

    # ------------------------------------------------------------------ train modes
    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        first = self.stages[0]
        frozen: List[nn.Module] = [first.patch_embed]
        frozen += [first.pos_embed] if first.pos_embed is not None else []
        frozen += list(self.stages[:self.frozen_stages])
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
