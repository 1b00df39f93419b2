"""A refactor's check: every backbone configuration's outputs, losses, gradients and state
after one seeded training step, saved to a file, and two such files compared bit for bit.

    python tools/analysis/fingerprint.py --out before.pt        # on the commit before
    python tools/analysis/fingerprint.py --compare before.pt    # on the change: "bitwise equal"

The configurations (:data:`CONFIGS`) are narrow (16-64 channels, 48x56 px images, batch 2),
one per kind, kind option, LA form and remedy, on PVT, PVT v2, Swin, LaViT and LaViTPlain:
what a change to shared machinery must leave exactly as it was. A configuration a commit
does not have is reported, not compared.
"""
from typing import Dict, List

import torch

from lavit_mm.models.model_spec import build_backbone
from lavit_mm.rng import keeps_global_rng

_SRA = dict(embed_dims=[16, 32, 48, 64], depths=[2, 3, 3, 2], num_heads=[1, 2, 3, 4],
            mlp_ratios=[2, 2, 2, 2], sr_ratios=[4, 2, 1, 1], num_va=[2, 2, 1, 1])
_WINDOW = dict(embed_dims=[16, 32, 64, 128], depths=[2, 3, 3, 2], num_heads=[1, 2, 4, 4],
               mlp_ratios=[2, 2, 2, 2], num_va=[2, 2, 1, 1], window_size=4)
_ALL_VA = dict(_SRA, num_va=[2, 3, 3, 2])


def _lavit(**options) -> dict:
    return dict(type='lavit_mm.LaViT', arch=dict(_SRA), **options)


def _window(**options) -> dict:
    return dict(type='lavit_mm.LaViT', attention='window', arch=dict(_WINDOW), **options)


def _plain(less_attention=None, **options) -> dict:
    return dict(type='lavit_mm.LaViTPlain', img_size=48, patch_size=8, out_type='featmap',
                arch=dict(embed_dims=32, num_layers=6, num_heads=2, feedforward_channels=64),
                less_attention=dict(layers='4va+2la', **(less_attention or {})), **options)


def _dense(**options) -> dict:
    return dict(transform='dense', map_size=48, **options)


CONFIGS: Dict[str, dict] = {
    'pvt': dict(type='lavit_mm.PVT', arch=dict(_ALL_VA)),
    'pvtv2': dict(type='lavit_mm.PVTv2', arch=dict(
        _ALL_VA, overlap_patch_embed=True, use_conv_ffn=True, use_abs_pos_embed=False)),
    'swin': dict(type='lavit_mm.Swin', arch=dict(_WINDOW, num_va=[2, 3, 3, 2])),
    'lavit': _lavit(),
    'lavit_dp_off': _lavit(less_attention=dict(dp_loss=dict(weight=0.))),
    'lavit_dense_linear_paper': _lavit(less_attention=_dense(
        init='linear', dp_loss=dict(form='paper'))),
    'lavit_dense_corrected': _lavit(less_attention=_dense(
        dp_loss=dict(form='paper-corrected'))),
    'lavit_key_stride': _lavit(less_attention=dict(key_stride=2, kernel_size=5)),
    'lavit_head_mix_lsa_reattention': _lavit(less_attention=dict(head_mix=True),
                                             remedies=dict(lsa=True, reattention=True)),
    'lavit_no_cross_stage': _lavit(attention=dict(type='sra', cross_stage_residual=False)),
    'lavit_la_only_stage': dict(type='lavit_mm.LaViT', arch=dict(_SRA, num_va=[2, 2, 0, 1])),
    'lavit_spt_drloc': _lavit(remedies=dict(spt=True, drloc_weight=0.1)),
    'lavit_cctt': _lavit(remedies=dict(stage_types=['conv', 'conv', 'attn', 'attn'])),
    'lavit_window': _window(),
    'lavit_window_linear_lsa_reattention': _window(less_attention=dict(init='linear'),
                                                   remedies=dict(lsa=True, reattention=True)),
    'lavit_plain': _plain(),
    'lavit_plain_dense_lsa': _plain(dict(transform='dense'), remedies=dict(lsa=True)),
}


def _step(cfg: dict, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Builds ``cfg`` under ``seed`` and takes one training step's forward and backward on a
    seeded batch: the outputs, the losses, every gradient and the state after it."""
    torch.manual_seed(seed)
    model = build_backbone(cfg)
    model.train()
    x = torch.randn(2, 3, 48, 56, generator=torch.Generator().manual_seed(seed + 1))
    if cfg['type'].endswith('LaViTPlain'):
        x = x[..., :48]
    torch.manual_seed(seed + 2)  # drop path, DP sampling
    outs = model(x)
    outs = outs if isinstance(outs, (tuple, list)) else (outs, )
    losses = dict(getattr(model, 'aux_losses', dict)())
    losses['outputs'] = sum(o.float().square().mean() for o in outs)
    sum(losses.values()).backward()
    record = {f'out.{i}': o.detach() for i, o in enumerate(outs)}
    record.update({f'loss.{k}': v.detach() for k, v in losses.items()})
    record.update({f'grad.{k}': p.grad for k, p in model.named_parameters()
                   if p.grad is not None})
    record.update({f'state.{k}': v for k, v in model.state_dict().items()})
    return record


@keeps_global_rng  # seeds each configuration; the caller's random state is kept
def fingerprint(names=None) -> Dict[str, Dict[str, torch.Tensor]]:
    """``{configuration: record}`` of :data:`CONFIGS` (or those of ``names``)."""
    return {name: _step(CONFIGS[name]) for name in (names or CONFIGS)}


def compare(before: Dict[str, dict], after: Dict[str, dict]) -> List[str]:
    """The differences, one line each: a configuration or tensor present in one only, or a
    tensor whose dtype, shape or any bit differs."""
    problems = []
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            problems.append(f'{name}: only in {"after" if name in after else "before"}')
            continue
        a, b = before[name], after[name]
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                problems.append(f'{name}: {key} only in {"after" if key in b else "before"}')
            elif a[key].dtype != b[key].dtype or a[key].shape != b[key].shape:
                problems.append(f'{name}: {key} {a[key].dtype}{tuple(a[key].shape)} -> '
                                f'{b[key].dtype}{tuple(b[key].shape)}')
            elif not torch.equal(a[key], b[key]):
                diff = (a[key].double() - b[key].double()).abs().max().item()
                problems.append(f'{name}: {key} differs (max abs {diff:.3g})')
    return problems
