"""Pure converters from foreign checkpoint layouts to lavit_mm's, one per layout.

Each takes a state dict (already stripped of any ``backbone.``/``module.`` prefix) and
returns a new one in our key layout, leaving the input untouched. Keys with no counterpart
(classification heads, cls tokens, buffers) are dropped. A state dict of another layout gets
a ``ValueError`` naming the layout it looks like. Loading the result into a LaViT adapts VA
weights to LA layers (``checkpoint.checkpoint_filter_fn``): an LA layer keeps the value
projection and leaves the query/key projections unused.

Layouts (key names from the official code, mmdet 3.x and mmpretrain 1.x):

- ``pvt-official`` (whai362/PVT v1): ``patch_embed{s}.proj|norm``, ``pos_embed{s}`` (stage 4
  with a cls-token entry first), ``block{s}.{j}.norm1|attn.q|attn.kv|attn.proj|attn.sr|
  attn.norm|norm2|mlp.fc1|mlp.fc2``, ``norm``, ``cls_token``, ``head``; s = 1..4.
- ``mmdet-pvt`` (``PyramidVisionTransformer``): ``layers.{i}.0.projection|norm``,
  ``layers.{i}.1.0.pos_embed``, ``layers.{i}.1.{j+1}.norm1|attn.attn.in_proj_weight|
  in_proj_bias|attn.attn.out_proj|attn.sr|attn.norm|norm2|ffn.layers.0|ffn.layers.3`` (1x1
  convs), ``layers.{i}.2`` (output norm, PVT v2 only).
- ``pvtv2-official`` (whai362/PVT v2): as ``pvt-official`` without ``pos_embed{s}``/
  ``cls_token``, with ``block{s}.{j}.mlp.dwconv.dwconv`` (the MLP's depthwise conv) and one
  output norm per stage, ``norm{s}``.
- ``mmdet-pvtv2`` (``PyramidVisionTransformerV2``): as ``mmdet-pvt`` without the position
  embedding (blocks are ``layers.{i}.1.{j}``), with ``ffn.layers.1`` (depthwise conv) and
  ``ffn.layers.4`` (fc2).
- ``swin-official`` (microsoft/Swin-Transformer): ``patch_embed.proj|norm``,
  ``layers.{i}.blocks.{j}.norm1|attn.qkv|attn.proj|attn.relative_position_bias_table|norm2|
  mlp.fc1|mlp.fc2``, ``layers.{i}.downsample.norm|reduction`` (features ordered x0,x1,x2,x3),
  ``norm``, ``head``.
- ``mmdet-swin`` (``SwinTransformer``): ``patch_embed.projection|norm``,
  ``stages.{i}.blocks.{j}.norm1|attn.w_msa.qkv|attn.w_msa.proj|
  attn.w_msa.relative_position_bias_table|norm2|ffn.layers.0.0|ffn.layers.1``,
  ``stages.{i}.downsample.norm|reduction`` (nn.Unfold order), ``norm{i}``.
- ``mmpretrain-vit`` (``VisionTransformer``; ``LaViTPlain``'s own layout): ``patch_embed.
  projection``, ``cls_token``, ``pos_embed``, ``layers.{i}.ln1|attn.qkv|attn.proj|ln2|
  ffn.layers.0.0|ffn.layers.1``, ``ln1`` (final norm), ``ln2`` (after average pooling).
- ``deit-official`` (facebookresearch/deit, timm's ViT): ``patch_embed.proj``, ``cls_token``,
  ``pos_embed``, ``blocks.{i}.norm1|attn.qkv|attn.proj|norm2|mlp.fc1|mlp.fc2``, ``norm``,
  ``fc_norm``, ``head``.
"""
import re
from typing import Callable, Dict

import torch

State = Dict[str, torch.Tensor]

SIGNATURES = {
    'pvt-official': re.compile(r'^(patch_embed\d\.|block\d\.\d+\.|pos_embed\d)'),
    'mmdet-pvt': re.compile(r'^layers\.\d\.[012]\.'),
    'swin-official': re.compile(r'^layers\.\d\.(blocks|downsample)\.'),
    'mmdet-swin': re.compile(r'^stages\.\d\.(blocks\.\d+\.attn\.w_msa|downsample)\.'),
    'lavit_mm': re.compile(r'^stages\.\d\.(blocks\.\d+\.attn\.(q|kv|qkv|v|proj)\.|patch_embed)'),
    'mmpretrain-vit': re.compile(r'^(layers\.\d+\.(ln1|ln2|attn\.qkv|ffn\.layers)\.|'
                                 r'patch_embed\.projection\.)'),
    'deit-official': re.compile(r'^(blocks\.\d+\.(norm1|norm2|attn|mlp)\.|patch_embed\.proj\.)'),
}


# PVT v2 checkpoints match their v1 family's signature; the MLP's depthwise conv tells them
V2_MARKERS = {
    'pvt-official': ('pvtv2-official', re.compile(r'^block\d\.\d+\.mlp\.dwconv\.')),
    'mmdet-pvt': ('mmdet-pvtv2', re.compile(r'^layers\.\d\.1\.\d+\.ffn\.layers\.1\.weight$')),
}


def detect_layout(state: State) -> str:
    """The layout whose key signature most keys match ('unknown' if none)."""
    counts = {name: sum(bool(sig.match(k)) for k in state) for name, sig in SIGNATURES.items()}
    best = max(counts, key=counts.get)
    if not counts[best]:
        return 'unknown'
    if best in V2_MARKERS and any(V2_MARKERS[best][1].match(k) for k in state):
        return V2_MARKERS[best][0]
    return best


def _expect(state: State, layout: str) -> None:
    found = detect_layout(state)
    if found != layout:
        raise ValueError(f'this checkpoint is not in the {layout!r} layout: its keys look like '
                         f'{found!r} (e.g. {list(state)[:3]}); use --from {found}'
                         if found != 'unknown' else
                         f'this checkpoint is not in the {layout!r} layout (keys like '
                         f'{list(state)[:3]})')


def _unfold_order_from_official(v: torch.Tensor) -> torch.Tensor:
    """Official Swin merges [x0, x1, x2, x3] = positions (0,0),(1,0),(0,1),(1,1) block-major;
    nn.Unfold orders channel-major over (0,0),(0,1),(1,0),(1,1). Works on the last axis."""
    *lead, n = v.shape
    v = v.reshape(*lead, 4, n // 4)[..., [0, 2, 1, 3], :]  # unfold position order
    return v.transpose(-1, -2).reshape(*lead, n)


def convert_pvt_official(state: State, layout: str = 'pvt-official') -> State:
    _expect(state, layout)
    out = {}
    for k, v in state.items():
        if m := re.match(r'patch_embed(\d)\.(proj|norm)\.(.*)', k):
            out[f'stages.{int(m[1]) - 1}.patch_embed.{m[2]}.{m[3]}'] = v
        elif m := re.match(r'pos_embed(\d)$', k):
            n = v.shape[1]
            if round((n - 1) ** 0.5) ** 2 == n - 1:  # the cls-token entry of stage 4
                v = v[:, 1:]
            out[f'stages.{int(m[1]) - 1}.pos_embed.pos_embed'] = v
        elif m := re.match(r'block(\d)\.(\d+)\.(.*)', k):
            rest = m[3].replace('attn.sr.', 'attn.reduce.sr.').replace(
                'attn.norm.', 'attn.reduce.norm.').replace('mlp.dwconv.dwconv.', 'mlp.dwconv.')
            out[f'stages.{int(m[1]) - 1}.blocks.{m[2]}.{rest}'] = v
        elif m := re.match(r'norm\.(.*)', k):  # v1: one norm, on the last stage
            out[f'stages.3.norm.{m[1]}'] = v
        elif m := re.match(r'norm(\d)\.(.*)', k):  # v2: one per stage
            out[f'stages.{int(m[1]) - 1}.norm.{m[2]}'] = v
    return out


def convert_pvtv2_official(state: State) -> State:
    return convert_pvt_official(state, 'pvtv2-official')


def convert_mmdet_pvt(state: State, layout: str = 'mmdet-pvt') -> State:
    _expect(state, layout)
    # mmdet numbers a stage's modules [pos_embed,] blocks...; its FFN is [fc1, (dwconv,) act,
    # drop, fc2, drop]
    first_block = 1 if any(re.match(r'layers\.\d\.1\.0\.pos_embed$', k) for k in state) else 0
    fc2 = '4' if layout == 'mmdet-pvtv2' else '3'
    out = {}
    for k, v in state.items():
        if m := re.match(r'layers\.(\d)\.0\.projection\.(.*)', k):
            out[f'stages.{m[1]}.patch_embed.proj.{m[2]}'] = v
        elif m := re.match(r'layers\.(\d)\.0\.norm\.(.*)', k):
            out[f'stages.{m[1]}.patch_embed.norm.{m[2]}'] = v
        elif m := re.match(r'layers\.(\d)\.1\.0\.pos_embed$', k):
            out[f'stages.{m[1]}.pos_embed.pos_embed'] = v
        elif m := re.match(r'layers\.(\d)\.2\.(.*)', k):
            out[f'stages.{m[1]}.norm.{m[2]}'] = v
        elif m := re.match(r'layers\.(\d)\.1\.(\d+)\.(.*)', k):
            block = f'stages.{m[1]}.blocks.{int(m[2]) - first_block}'
            rest = m[3]
            if rest.startswith('attn.attn.in_proj_'):
                kind = rest.rsplit('_', 1)[1]  # weight | bias
                c = v.shape[0] // 3
                out[f'{block}.attn.q.{kind}'] = v[:c]
                out[f'{block}.attn.kv.{kind}'] = v[c:]
                continue
            rest = rest.replace('attn.attn.out_proj.', 'attn.proj.').replace(
                'attn.sr.', 'attn.reduce.sr.').replace('attn.norm.', 'attn.reduce.norm.')
            if rest.startswith('ffn.layers.'):
                if rest.startswith('ffn.layers.1.'):  # the depthwise conv stays a conv
                    out[f'{block}.{rest.replace("ffn.layers.1.", "mlp.dwconv.")}'] = v
                    continue
                rest = rest.replace('ffn.layers.0.', 'mlp.fc1.').replace(
                    f'ffn.layers.{fc2}.', 'mlp.fc2.')
                v = v.flatten(1) if v.dim() == 4 else v  # 1x1 conv -> linear
            out[f'{block}.{rest}'] = v
    return out


def convert_mmdet_pvtv2(state: State) -> State:
    return convert_mmdet_pvt(state, 'mmdet-pvtv2')


def convert_swin_official(state: State) -> State:
    _expect(state, 'swin-official')
    out = {}
    for k, v in state.items():
        if m := re.match(r'patch_embed\.(proj|norm)\.(.*)', k):
            out[f'stages.0.patch_embed.{m[1]}.{m[2]}'] = v
        elif m := re.match(r'layers\.(\d)\.blocks\.(\d+)\.(.*)', k):
            if m[3].endswith(('relative_position_index', 'attn_mask')):
                continue  # buffers, rebuilt by the model
            out[f'stages.{m[1]}.blocks.{m[2]}.{m[3]}'] = v
        elif m := re.match(r'layers\.(\d)\.downsample\.(norm|reduction)\.(.*)', k):
            out[f'stages.{int(m[1]) + 1}.patch_embed.{m[2]}.{m[3]}'] = \
                _unfold_order_from_official(v)
        elif m := re.match(r'norm\.(.*)', k):
            out[f'stages.3.norm.{m[1]}'] = v
    return out


def convert_mmdet_swin(state: State) -> State:
    _expect(state, 'mmdet-swin')
    out = {}
    for k, v in state.items():
        if m := re.match(r'patch_embed\.(projection|norm)\.(.*)', k):
            out[f'stages.0.patch_embed.{m[1].replace("projection", "proj")}.{m[2]}'] = v
        elif m := re.match(r'stages\.(\d)\.blocks\.(\d+)\.(.*)', k):
            rest = m[3].replace('attn.w_msa.', 'attn.').replace(
                'ffn.layers.0.0.', 'mlp.fc1.').replace('ffn.layers.1.', 'mlp.fc2.')
            if rest.endswith('relative_position_index'):
                continue
            out[f'stages.{m[1]}.blocks.{m[2]}.{rest}'] = v
        elif m := re.match(r'stages\.(\d)\.downsample\.(norm|reduction)\.(.*)', k):
            out[f'stages.{int(m[1]) + 1}.patch_embed.{m[2]}.{m[3]}'] = v
        elif m := re.match(r'norm(\d)\.(.*)', k):
            out[f'stages.{m[1]}.norm.{m[2]}'] = v
    return out


PLAIN_VIT_KEYS = re.compile(r'^(patch_embed\.|cls_token$|pos_embed$|layers\.\d+\.|ln1\.|ln2\.)')


def convert_mmpretrain_vit(state: State) -> State:
    """mmpretrain's ``VisionTransformer`` (ViT, DeiT): already ``LaViTPlain``'s layout; only
    the backbone's keys are kept (a classifier's ``head``/``neck`` are dropped)."""
    _expect(state, 'mmpretrain-vit')
    return {k: v for k, v in state.items() if PLAIN_VIT_KEYS.match(k)}


def convert_deit_official(state: State) -> State:
    """The official DeiT / timm ViT layout -> ``LaViTPlain``'s (mmpretrain's) keys. A
    distilled DeiT (``dist_token``: two extra tokens) is refused; heads are dropped."""
    _expect(state, 'deit-official')
    if 'dist_token' in state:
        raise ValueError('this is a distilled DeiT (dist_token): it has a second extra token '
                         'that LaViTPlain does not have; use the non-distilled checkpoint')
    names = {'norm1.': 'ln1.', 'norm2.': 'ln2.', 'mlp.fc1.': 'ffn.layers.0.0.',
             'mlp.fc2.': 'ffn.layers.1.', 'attn.qkv.': 'attn.qkv.', 'attn.proj.': 'attn.proj.'}
    out = {}
    for k, v in state.items():
        if k in ('cls_token', 'pos_embed'):
            out[k] = v
        elif m := re.match(r'patch_embed\.proj\.(.*)', k):
            out[f'patch_embed.projection.{m[1]}'] = v
        elif m := re.match(r'blocks\.(\d+)\.(norm1\.|norm2\.|mlp\.fc1\.|mlp\.fc2\.|'
                           r'attn\.qkv\.|attn\.proj\.)(.*)', k):
            out[f'layers.{m[1]}.{names[m[2]]}{m[3]}'] = v
        elif m := re.match(r'(norm|fc_norm)\.(.*)', k):  # final norm; after pooling
            out[f'{"ln1" if m[1] == "norm" else "ln2"}.{m[2]}'] = v
    return out


CONVERTERS: Dict[str, Callable[[State], State]] = {
    'pvt-official': convert_pvt_official,
    'mmdet-pvt': convert_mmdet_pvt,
    'pvtv2-official': convert_pvtv2_official,
    'mmdet-pvtv2': convert_mmdet_pvtv2,
    'swin-official': convert_swin_official,
    'mmdet-swin': convert_mmdet_swin,
    'mmpretrain-vit': convert_mmpretrain_vit,
    'deit-official': convert_deit_official,
}


def convert(state: State, layout: str) -> State:
    if layout not in CONVERTERS:
        raise ValueError(f'unknown layout {layout!r}; choose one of {sorted(CONVERTERS)}')
    return CONVERTERS[layout](state)
