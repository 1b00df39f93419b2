"""One way to name a backbone, shared by every tool and test: a preset name (``lavit_t``),
a preset with overrides (``lavit_s+less_attention.key_stride=2,with_cp=True``: dotted keys
reach into the grouped options), a config file (its
``model.backbone``), or a dict literal (``dict(type='lavit_mm.LaViT', arch='tiny')``).
mmdet's backbones are named ``mmdet.<Type>`` and built through mmdet's registry; timm's
``timm.<model name>`` (``features_only``, random weights; timm is optional: ``pip install
timm``), the fastest public PVT v2 and Swin, for the benchmark.
"""
import ast
import copy
import importlib
import os
from typing import Dict, Tuple

import torch.nn as nn

# Named backbones: ours, and mmdet's implementations of the same networks for reference.
# LaViTs train with the DP loss (their default; its cost is part of a step).
PRESETS: Dict[str, dict] = {
    'lavit_t': dict(type='lavit_mm.LaViT', arch='tiny'),
    'lavit_s': dict(type='lavit_mm.LaViT', arch='small'),
    'lavit_b': dict(type='lavit_mm.LaViT', arch='base'),
    'lavit_s_ks2': dict(type='lavit_mm.LaViT', arch='small',
                        less_attention=dict(key_stride=2)),
    # PVTv2-b2's exact widths and MLP ratios with a third of stages 2-4 LA: what
    # Less-Attention alone saves against pvtv2_b2
    'lavit_pvtv2_b2': dict(type='lavit_mm.LaViT', arch='pvtv2-b2'),
    # the first LaViT presets, PVT v1 with LA layers (the rows recorded before the
    # paper-sized presets took the plain names)
    'lavit1_t': dict(type='lavit_mm.LaViT', arch='pvt1-tiny'),
    'lavit1_s': dict(type='lavit_mm.LaViT', arch='pvt1-small'),
    'lavit1_b': dict(type='lavit_mm.LaViT', arch='pvt1-base'),
    'lavit1_s_ks2': dict(type='lavit_mm.LaViT', arch='pvt1-small',
                         less_attention=dict(key_stride=2)),
    # + Less-Attention in stage 1 too (one VA layer per stage at its start)
    'lavit_s_lite': dict(type='lavit_mm.LaViT', less_attention=dict(key_stride=2),
                         arch=dict(embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8],
                                   mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1],
                                   depths=[3, 4, 6, 3], num_va=[1, 2, 3, 2])),
    'lavit_swin_t': dict(type='lavit_mm.LaViT', arch='tiny', attention='window'),
    'pvt_t': dict(type='lavit_mm.PVT', arch='tiny'),
    'pvt_s': dict(type='lavit_mm.PVT', arch='small'),
    'pvt_m': dict(type='lavit_mm.PVT', arch='medium'),
    'pvtv2_b0': dict(type='lavit_mm.PVTv2', arch='b0'),
    'pvtv2_b1': dict(type='lavit_mm.PVTv2', arch='b1'),
    'pvtv2_b2': dict(type='lavit_mm.PVTv2', arch='b2'),
    'pvtv2_b3': dict(type='lavit_mm.PVTv2', arch='b3'),
    'swin_t': dict(type='lavit_mm.Swin', arch='tiny'),
    'mmdet_pvt_s': dict(type='mmdet.PyramidVisionTransformer', num_layers=[3, 4, 6, 3]),
    'mmdet_pvt_t': dict(type='mmdet.PyramidVisionTransformer', num_layers=[2, 2, 2, 2]),
    'mmdet_pvtv2_b2': dict(type='mmdet.PyramidVisionTransformerV2', num_layers=[3, 4, 6, 3]),
    'mmdet_swin_t': dict(type='mmdet.SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2],
                         num_heads=[3, 6, 12, 24], window_size=7),
    'timm_pvtv2_b0': dict(type='timm.pvt_v2_b0'),
    'timm_pvtv2_b1': dict(type='timm.pvt_v2_b1'),
    'timm_pvtv2_b2': dict(type='timm.pvt_v2_b2'),
    # timm's Swin asserts sides divisible by its patch: padded right/bottom as our Swin pads
    'timm_swin_t': dict(type='timm.swin_tiny_patch4_window7_224', dynamic_img_size=True,
                        pad_to_multiple=4),
}


class TimmFeatures(nn.Module):
    """A timm ``features_only`` model called as our backbones are: the image padded
    right/bottom to a ``multiple`` of its sides (1: none), the maps returned as a tuple of
    (B, C, H, W) (timm's Swin returns (B, H, W, C))."""

    def __init__(self, model: nn.Module, multiple: int):
        super().__init__()
        self.model, self.multiple = model, multiple
        self.channels_last = getattr(model, 'output_fmt', 'NCHW') == 'NHWC'

    def forward(self, x):
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % self.multiple, -w % self.multiple
        if pad_h or pad_w:
            x = nn.functional.pad(x, (0, pad_w, 0, pad_h))
        outs = self.model(x)
        return tuple(o.permute(0, 3, 1, 2) if self.channels_last else o for o in outs)

    def init_weights(self):  # timm initialises in create_model
        pass


def build_timm_backbone(name: str, kwargs: dict) -> nn.Module:
    """``kwargs``: timm's ``create_model`` arguments, and ``pad_to_multiple`` (ours)."""
    kwargs = dict(kwargs)
    multiple = kwargs.pop('pad_to_multiple', 1)
    try:
        import timm
    except ImportError as e:
        raise ImportError(f'timm.{name} needs timm, which is optional: pip install timm '
                          f'(the benchmark was measured with timm 1.0.31)') from e
    model = timm.create_model(name, features_only=True, pretrained=False, **kwargs)
    return TimmFeatures(model, multiple)


def config_backbone(path: str):
    """A config file -> (the loaded Config, its ``model.backbone`` as a dict)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config {path} does not exist')
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    backbone = cfg.model.get('backbone')
    if backbone is None:
        raise ValueError(f'{path} has no model.backbone')
    return cfg, backbone.to_dict()


def parse_model_spec(spec: str) -> Tuple[str, dict]:
    """A preset name, ``name+key=value,...`` (a preset with overrides), a config file (its
    ``model.backbone``), or a dict literal. Returns (row name, backbone config)."""
    if spec.endswith('.py'):
        return os.path.splitext(os.path.basename(spec))[0], config_backbone(spec)[1]
    text = spec.strip()
    if text.startswith('{') or text.startswith('dict('):
        cfg = (ast.literal_eval(text) if text.startswith('{')
               else parse_keywords(text[len('dict('):-1], spec))
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise ValueError(f'model dict {spec} needs a "type"')
        return cfg['type'].split('.')[-1], cfg
    name, _, overrides = spec.partition('+')
    if name not in PRESETS:
        raise ValueError(f'unknown model {name!r}; use one of {sorted(PRESETS)}, '
                         f'a config .py file, or a dict literal')
    cfg = copy.deepcopy(PRESETS[name])
    for key, value in parse_overrides(overrides, spec).items():
        *groups, last = key.split('.')
        node = cfg
        for group in groups:
            node = node.setdefault(group, {})
            if not isinstance(node, dict):
                raise ValueError(f'cannot read {spec!r}: {group} in {key} is not a dict')
        node[last] = value
    return spec, cfg


def _literal(node: ast.AST):
    """A Python literal, or a ``dict(key=literal, ...)`` call (nested options)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords}
    return ast.literal_eval(node)


def parse_keywords(text: str, spec: str) -> dict:
    """'a=1, b=dict(c=[2, 3])' -> {'a': 1, 'b': {'c': [2, 3]}} (Python literals only)."""
    try:
        return _literal(ast.parse(f'dict({text})', mode='eval').body)
    except (SyntaxError, ValueError) as e:
        raise ValueError(f'cannot read {spec!r}: write key=value pairs with Python '
                         f'literals, e.g. dict(type=\'lavit_mm.LaViT\', arch=\'tiny\')') from e


def parse_overrides(text: str, spec: str) -> dict:
    """'a.b=1, c=[2, 3]' -> {'a.b': 1, 'c': [2, 3]}: dotted keys, Python literal values."""
    pairs, depth, start = [], 0, 0
    for i, char in enumerate(text + ','):
        depth += char in '([{'
        depth -= char in ')]}'
        if char == ',' and depth == 0:
            if text[start:i].strip():
                pairs.append(text[start:i])
            start = i + 1
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition('=')
        key = key.strip()
        try:
            if not eq or not all(part.isidentifier() for part in key.split('.')):
                raise ValueError(pair)
            out[key] = _literal(ast.parse(value.strip(), mode='eval').body)
        except (SyntaxError, ValueError) as e:
            raise ValueError(f'cannot read {spec!r}: write key=value pairs with Python '
                             f'literals and dotted keys, e.g. '
                             f'lavit_s+less_attention.key_stride=2,with_cp=True') from e
    return out


def build_backbone(cfg: dict) -> nn.Module:
    """Builds ours through lavit_mm's registry, ``mmdet.*`` / ``mmpretrain.*`` / ``mmseg.*``
    through that toolbox's, ``timm.*`` with timm."""
    cfg = copy.deepcopy(cfg)
    scope, _, name = cfg['type'].rpartition('.')
    if scope == 'timm':
        return build_timm_backbone(name, {k: v for k, v in cfg.items() if k != 'type'})
    if scope in ('mmdet', 'mmpretrain', 'mmseg'):
        from mmengine.registry import DefaultScope
        importlib.import_module(f'{scope}.models')  # registers the toolbox's backbones
        registry = importlib.import_module(f'{scope}.registry').MODELS
        cfg['type'] = name
        with DefaultScope.overwrite_default_scope(scope):  # not another toolbox's, if set
            model = registry.build(cfg)
    else:
        import lavit_mm.models  # noqa: F401
        from lavit_mm.registry import MODELS
        model = MODELS.build(cfg)
    model.init_weights()
    return model
