"""LaViTPlain: a plain, isotropic ViT whose layers are Vanilla or Less-Attention (LA) layers.

mmpretrain's ``VisionTransformer``, layer for layer and key for key (``arch`` names and
dicts, ``img_size``/``patch_size``, the class token, ``out_type``, ``final_norm``,
``frozen_stages``, ``get_layer_depth``), so that with VA layers only it computes what
mmpretrain's does given the same weights, and mmpretrain ViT/DeiT checkpoints load into it
(an LA layer keeps the value third of ``qkv``). ``layer_types`` makes layers LA: an LA layer
transforms the attention of the layer before it (``layers/plain.py``: Theta/Psi on the patch
tokens, the class token's row and column passed on) and computes no q/k of its own. Training
adds the DP loss of the LA layers (``loss_dp``), and VA layers take DeepViT's re-attention or
LSA; the hierarchical backbones' other options (windows, reductions, cross-stage residual,
SPT, DRLoc, conv stages) have no counterpart here and are not arguments.
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmcv.cnn.bricks.transformer import FFN, PatchEmbed
from mmengine.model.weight_init import trunc_normal_

from lavit_mm.registry import MODELS
from ...grid import HW
from ..aux_loss import ForwardContext
from ..layers.kind import BlockOptions, LayerArgs
from ..layers.dense_transform import TransformOptions
from ..layers.embed import resize_pos_embed
from ..layers.options import (LESS_ATTENTION, DPLossOptions, check_range, grouped, option,
                              read_groups, refuse_flat_keywords)
from ..layers.plain import GlobalAttention, GlobalLessAttention
from .base import LessAttentionBackbone, run_blocks
from .weights import init_linear_or_layer_norm

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
LAYER_TYPES = ('va', 'la')
OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')
# mmpretrain's per-layer keywords we take, as its ``layer_cfgs`` gives them
LAYER_CFG_KEYS = dict(attn_drop_rate=0., act_cfg=dict(type='GELU'))


@dataclass(frozen=True)
class PlainViTOptions(BlockOptions, TransformOptions):
    """The plain ViT's options: ``less_attention=dict(layers=..., transform=..., init=...,
    kernel_size=..., dp_loss=dict(...))`` and ``remedies=dict(reattention=..., lsa=...)``.

    Attributes:
        la_layers: 'va'/'la' per layer: a list, or a string such as '14va+4la' (None: all
            VA, mmpretrain's ViT). The first layer must be VA.
        la_transform: 'dense' maps are sized for ``img_size`` (the class token included).
    """
    la_layers: Union[None, str, Sequence[str]] = option(None, None, LESS_ATTENTION)


def vit_arch(dims: int, layers: int, heads: int, ffn_ratio: int = 4) -> dict:
    return dict(embed_dims=dims, num_layers=layers, num_heads=heads,
                feedforward_channels=dims * ffn_ratio)


def parse_layer_types(layer_types: Union[None, str, Sequence[str]], num_layers: int,
                      owner: str) -> List[str]:
    """``None`` (all VA), a list of 'va'/'la', or a string of ``<count><type>`` terms joined
    by '+' ('14va+4la') -> one type per layer, checked: the right count, known types, and a
    VA layer first (an LA layer transforms the attention of the layer before it)."""
    if layer_types is None:
        return ['va'] * num_layers
    if isinstance(layer_types, str):
        terms = [re.fullmatch(r'\s*(\d+)\s*(va|la)\s*', t) for t in layer_types.split('+')]
        if not all(terms):
            raise ValueError(f"{owner}: less_attention.layers {layer_types!r} is not a sum of "
                             f"'<count>va' / '<count>la' terms, e.g. '14va+4la'")
        types = [m[2] for m in terms for _ in range(int(m[1]))]
    else:
        types = list(layer_types)
        unknown = sorted({str(t) for t in types} - set(LAYER_TYPES))
        if unknown:
            raise ValueError(f'{owner}: unknown layer types {unknown} in less_attention.layers; '
                             f'each is one of {LAYER_TYPES}')
    if len(types) != num_layers:
        raise ValueError(f'{owner}: less_attention.layers gives {len(types)} layers and the '
                         f'arch has num_layers={num_layers}: give one type per layer')
    if types and types[0] == 'la':
        raise ValueError(f"{owner}: layer 0 is 'la', but an LA layer transforms the attention "
                         f"of the layer before it: the first layer must be 'va'")
    return types


class PlainBlock(nn.Module):
    """mmpretrain's ``TransformerEncoderLayer`` with a VA or LA attention:
    ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``."""

    def __init__(self, dims: int, attn: nn.Module, feedforward_channels: int,
                 drop_rate: float, drop_path_rate: float, act_cfg: dict, norm_cfg: dict):
        super().__init__()
        self.ln1 = build_norm_layer(norm_cfg, dims)[1]
        self.attn = attn
        self.ln2 = build_norm_layer(norm_cfg, dims)[1]
        self.ffn = FFN(embed_dims=dims, feedforward_channels=feedforward_channels, num_fcs=2,
                       ffn_drop=drop_rate, act_cfg=act_cfg,
                       dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate))
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    @property
    def is_less_attention(self) -> bool:
        return self.attn.is_less_attention

    def forward(self, x: torch.Tensor, hw: HW, prev=None, extension=None):
        """x: (B, N, C) -> (B, N, C) and this layer's attention state. ``extension``: none
        in a plain ViT (no cross-stage residual); the block loop's signature."""
        y, state = self.attn(self.ln1(x), hw, prev=prev)
        x = x + self.drop_path(y)
        return self.ffn(self.ln2(x), identity=x), state


@MODELS.register_module()
class LaViTPlain(LessAttentionBackbone):
    """A plain ViT with Less-Attention layers (module docstring).

    Args:
        arch: a name of :attr:`arch_zoo` (mmpretrain's: 'deit-tiny', 'deit-small',
            'deit-base', 'small', 'base', 'large') or a dict of ``embed_dims``,
            ``num_layers``, ``num_heads``, ``feedforward_channels``.
        img_size: the size the position table is made for (other sizes interpolate it).
        patch_size: the patch embedding's kernel and stride (4 for 32 px images).
        in_channels: image channels.
        out_indices: layers whose output is returned (negative: from the end).
        drop_rate: dropout after the position embedding, in the FFN and after projections.
        drop_path_rate: stochastic depth, rising linearly to this over the layers.
        qkv_bias: biases of the q/k/v (LA: v) projections.
        norm_cfg: the norms (LayerNorm, eps 1e-6 as mmpretrain's ViT).
        final_norm: a LayerNorm after the last layer (``ln1``).
        out_type: 'cls_token' (B, C), 'featmap' (B, C, H, W), 'avg_featmap' (B, C; normed
            by ``ln2``) or 'raw' (B, N, C).
        with_cls_token: prepend a class token (required by ``out_type='cls_token'``).
        frozen_stages: freeze the embeddings and the first this many layers (0 or -1:
            none, as mmpretrain; kept frozen through ``train()``).
        interpolate_mode: how the position table is resized ('bicubic').
        layer_cfgs: mmpretrain's per-layer keywords, one dict for every layer:
            ``attn_drop_rate`` (dropout on the attention probabilities, 0) and ``act_cfg``
            (the FFN's activation, GELU).
        less_attention: which layers are LA and how they work (:class:`PlainViTOptions`):
            ``layers`` ('14va+4la' or a list of 'va'/'la'), ``transform`` ('local': a k x k
            map over the patch grid, the class token's row and column passed on; 'dense':
            the paper's N x N maps over all tokens, sized for ``img_size`` and resized
            bilinearly at other sizes), ``init`` ('identity' or 'linear'), ``kernel_size``
            ('local', 3) and ``dp_loss=dict(weight, form, margin)`` (weight 1.0 with LA
            layers). None: mmpretrain's ViT, all layers VA.
        remedies: ``reattention`` (DeepViT's, in every VA layer) and ``lsa`` (Locality
            Self-Attention in every VA layer: own token masked, learnable scale).
        with_cp: gradient checkpointing of each layer in training.
        check_finite: debug: raise at NaN/Inf input images, naming the samples (in training
            they are always refused, by a device-side assert).
        init_cfg: mmengine's; ``dict(type='Pretrained', checkpoint=..., prefix=...)`` loads
            with a report of what was missing and unused.
        **flat: refused: a flat option of earlier versions is named with its grouped
            spelling.
    """
    arch_zoo: Dict[str, dict] = {
        **dict.fromkeys(['s', 'small'], vit_arch(768, 8, 8, 3)),
        **dict.fromkeys(['b', 'base'], vit_arch(768, 12, 12)),
        **dict.fromkeys(['l', 'large'], vit_arch(1024, 24, 16)),
        **dict.fromkeys(['deit-t', 'deit-tiny'], vit_arch(192, 12, 3)),
        **dict.fromkeys(['deit-s', 'deit-small'], vit_arch(384, 12, 6)),
        **dict.fromkeys(['deit-b', 'deit-base'], vit_arch(768, 12, 12)),
    }
    default_dp_loss_weight = 1.0

    def __init__(self,
                 arch: Union[str, dict] = 'deit-tiny',
                 img_size: Union[int, HW] = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True,
                 out_type: str = 'cls_token',
                 with_cls_token: bool = True,
                 frozen_stages: int = -1,
                 interpolate_mode: str = 'bicubic',
                 layer_cfgs: Optional[dict] = None,
                 less_attention: Optional[dict] = None,
                 remedies: Optional[dict] = None,
                 with_cp: bool = False,
                 check_finite: bool = False,
                 init_cfg: Optional[dict] = None,
                 **flat):
        name = type(self).__name__
        refuse_flat_keywords(name, flat, [PlainViTOptions, DPLossOptions], moved=dict(
            layer_types=grouped(LESS_ATTENTION, 'layers'),
            **{key: f'layer_cfgs=dict({key}=...)' for key in LAYER_CFG_KEYS}))
        super().__init__(init_cfg, frozen_stages=frozen_stages, with_cp=with_cp,
                         check_finite=check_finite)
        self.arch = self._resolve_arch(arch, name)
        dims, depth = self.arch['embed_dims'], self.arch['num_layers']
        layer_cfg = self._layer_cfg(name, layer_cfgs)
        given = read_groups(name, dict(less_attention=less_attention, remedies=remedies),
                            [PlainViTOptions, DPLossOptions])
        options = PlainViTOptions.parse(name, given[PlainViTOptions])
        self.layer_types = parse_layer_types(options.la_layers, depth, name)
        self._set_less_attention(
            'la' in self.layer_types, [PlainViTOptions.spelling(o) for o in given[PlainViTOptions]
                                       if o in PlainViTOptions.la_names() and o != 'la_layers'],
            given[DPLossOptions], where='less_attention.layers',
            fix="make layers 'la' (e.g. less_attention=dict(layers='14va+4la'))")
        if out_type not in OUT_TYPES:
            raise ValueError(f'{name}: out_type {out_type!r} is not one of {OUT_TYPES}')
        if out_type == 'cls_token' and not with_cls_token:
            raise ValueError(f"{name}: out_type='cls_token' needs with_cls_token=True; or "
                             f"choose out_type 'avg_featmap' / 'featmap'")
        self.out_indices = [i % depth if -depth <= i < depth else i for i in
                            ([out_indices] if isinstance(out_indices, int) else out_indices)]
        if not all(0 <= i < depth for i in self.out_indices):
            raise ValueError(f'{name}: out_indices {out_indices} must be layer indices in '
                             f'[-{depth}, {depth})')
        if not -1 <= frozen_stages <= depth:
            raise ValueError(f'{name}: frozen_stages={frozen_stages} not in [-1, {depth}]')
        self.embed_dims, self.num_layers = dims, depth
        self.out_type, self.final_norm = out_type, final_norm
        self.interpolate_mode = interpolate_mode
        self.num_extra_tokens = 1 if with_cls_token else 0

        self.patch_embed = PatchEmbed(in_channels=in_channels, embed_dims=dims,
                                      kernel_size=patch_size, stride=patch_size,
                                      input_size=img_size)
        self.patch_resolution = tuple(self.patch_embed.init_out_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dims)) if with_cls_token else None
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_extra_tokens, dims))
        self.drop_after_pos = nn.Dropout(drop_rate)
        args = LayerArgs(dims=dims, num_heads=self.arch['num_heads'], qkv_bias=qkv_bias,
                         attn_drop=layer_cfg['attn_drop_rate'], proj_drop=drop_rate,
                         norm_cfg=norm_cfg, options=options, token_grid=self.patch_resolution)
        prefix = self.num_extra_tokens
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.layers = nn.ModuleList([
            PlainBlock(dims, GlobalLessAttention(args, prefix, options.la_kernel_size,
                                                 options.la_transform)
                       if t == 'la' else GlobalAttention(args, prefix),
                       self.arch['feedforward_channels'],
                       drop_rate, dpr[i], layer_cfg['act_cfg'], norm_cfg)
            for i, t in enumerate(self.layer_types)])
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, dims)[1]
        if out_type == 'avg_featmap':
            self.ln2 = build_norm_layer(norm_cfg, dims)[1]
        self._register_dp_step()
        self._freeze()

    @staticmethod
    def _layer_cfg(name: str, layer_cfgs: Optional[dict]) -> dict:
        """mmpretrain's ``layer_cfgs`` over our defaults; keys we do not take are refused."""
        if layer_cfgs is None:
            layer_cfgs = {}
        if not isinstance(layer_cfgs, dict):
            raise TypeError(f'{name}: layer_cfgs must be one dict for every layer (per-layer '
                            f'lists are not offered), got {type(layer_cfgs).__name__}')
        unknown = sorted(set(layer_cfgs) - set(LAYER_CFG_KEYS))
        if unknown:
            raise ValueError(f'{name}: layer_cfgs keys {unknown} are not offered; layer_cfgs '
                             f'takes {sorted(LAYER_CFG_KEYS)}')
        cfg = {**LAYER_CFG_KEYS, **layer_cfgs}
        check_range(name, 'layer_cfgs.attn_drop_rate', cfg['attn_drop_rate'], 0., 1.)
        return cfg

    def _resolve_arch(self, arch, name: str) -> dict:
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise ValueError(f'{name}: unknown arch {arch!r}; choose one of '
                                 f'{sorted(self.arch_zoo)} or give a dict of {ARCH_KEYS}')
            return dict(self.arch_zoo[arch.lower()])
        if not isinstance(arch, dict) or set(ARCH_KEYS) - set(arch):
            missing = sorted(set(ARCH_KEYS) - set(arch)) if isinstance(arch, dict) else ARCH_KEYS
            raise ValueError(f'{name}: an arch dict needs {ARCH_KEYS}; missing {missing}')
        unknown = sorted(set(arch) - set(ARCH_KEYS))
        if unknown:
            raise ValueError(f'{name}: unknown arch keys {unknown}; an arch has {ARCH_KEYS}')
        if arch['embed_dims'] % arch['num_heads']:
            raise ValueError(f"{name}: embed_dims {arch['embed_dims']} not divisible by "
                             f"num_heads {arch['num_heads']}")
        return dict(arch)

    # ------------------------------------------------------------------ forward
    def tokens(self, x: torch.Tensor) -> Tuple[torch.Tensor, HW]:
        """Images (B, C_in, H, W) -> embedded tokens (B, extra + H'*W', C) and their grid."""
        x, hw = self.patch_embed(x)  # (B, H'*W', C)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw,
                                 self.interpolate_mode, self.num_extra_tokens)
        return self.drop_after_pos(x), tuple(hw)

    def _run(self, x: torch.Tensor, ctx: ForwardContext,
             states: Optional[list] = None) -> tuple:
        """x: (B, C_in, H, W) -> the outputs of ``out_indices`` in ``out_type``'s form."""
        x, hw = self.tokens(x)
        outs, layer_states = [], None if states is None else []
        blocks = run_blocks(self.layers, x, hw, checkpoint=self.with_cp and self.training,
                            dp_inputs=ctx.dp_inputs, states=layer_states)
        for i, (x, _) in enumerate(blocks):
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, hw))
        if states is not None:
            states.append(layer_states)
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, hw: HW) -> torch.Tensor:
        if self.out_type == 'raw':
            return x  # (B, N, C)
        if self.out_type == 'cls_token':
            return x[:, 0]  # (B, C)
        patches = x[:, self.num_extra_tokens:]  # (B, H*W, C)
        if self.out_type == 'featmap':
            return patches.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
        return self.ln2(patches.mean(dim=1))  # (B, C)

    def attention_blocks(self) -> List[List[nn.Module]]:
        """The layers, as one 'stage' (:meth:`attention_states`): for analysis tools."""
        return [list(self.layers)]

    # ------------------------------------------------------------------ init / load
    def fit_pos_embed(self, table: torch.Tensor) -> torch.Tensor:
        """A checkpoint's position table (1, extra + S*S, C), made at another image size or
        with a class token this model lacks, resized to this model's."""
        if table.shape[1] == self.pos_embed.shape[1] + 1 and self.cls_token is None:
            table = table[:, 1:]  # a class token this model does not have
        side = round((table.shape[1] - self.num_extra_tokens) ** 0.5)
        if side * side != table.shape[1] - self.num_extra_tokens:
            raise ValueError(f'{type(self).__name__}: cannot fit a position table of '
                             f'{table.shape[1]} tokens: not {self.num_extra_tokens} extra '
                             f'token(s) and a square grid')
        return resize_pos_embed(table, (side, side), self.patch_resolution,
                                self.interpolate_mode, self.num_extra_tokens)

    def _init_from_scratch(self):
        """timm/DeiT's initialisation (linear layers truncated normal 0.02, zero biases,
        LayerNorms 1/0, class token and position table truncated normal 0.02; the patch
        convolution keeps PyTorch's), LA transforms the identity."""
        for m in self.modules():
            init_linear_or_layer_norm(m)
        trunc_normal_(self.pos_embed, std=.02)
        if self.cls_token is not None:
            trunc_normal_(self.cls_token, std=.02)

    def _num_blocks(self) -> int:
        return self.num_layers

    def _layer_depth(self, name: str) -> Optional[int]:
        """As mmpretrain's ViT: embeddings 0, layer i i + 1, the final norms last."""
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1
        return None

    # ------------------------------------------------------------------ train modes
    def frozen_parts(self) -> list:
        """The embeddings and the first ``frozen_stages`` layers (0 or -1: none, as
        mmpretrain), the final norm with all of them."""
        if self.frozen_stages <= 0:
            return []
        frozen: list = [self.patch_embed, self.drop_after_pos]
        frozen += list(self.layers[:self.frozen_stages])
        if self.frozen_stages == self.num_layers and self.final_norm:
            frozen.append(self.ln1)
        return frozen + [p for p in (self.pos_embed, self.cls_token) if p is not None]
