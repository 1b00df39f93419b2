"""The attention-kind registry and the backbones' options: a new kind in a few lines, and
every public option of every backbone either changes the model or raises."""
import dataclasses
import inspect
import re

import pytest
import torch
import torch.nn as nn

from lavit_mm.models import PVT, LaViT, PVTv2, Swin
from lavit_mm.models.backbones import base as blocks_module
from lavit_mm.models.backbones.hierarchical import HierarchicalViT
from lavit_mm.models.backbones.pvtv2 import V2_PARTS
from lavit_mm.models.backbones.hierarchical import ARCH_PARTS
from lavit_mm.models.backbones.remedies import Remedies
from lavit_mm.models.layers import (ATTENTION_KINDS, AttentionBase, AttentionKind,
                                    AttentionState, DPLossOptions, attend,
                                    register_attention_kind)
from lavit_mm.models.layers.kind import CrossStageOptions
from tests.helpers import narrow_arch


# ---------------------------------------------------------------- a new kind, in full
class GlobalAttention(AttentionBase):
    """Every token attends to every token (ViT's attention)."""

    def __init__(self, args):
        super().__init__(args.dims, args.num_heads, args.attn_drop, args.proj_drop)
        self.qkv = nn.Linear(args.dims, 3 * args.dims, bias=args.qkv_bias)

    def key_grid(self, hw):
        return hw

    def forward(self, x, hw, prev=None, extension=None):
        B, N, C = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q = q * self.scale
        if extension is not None:  # the cross-stage residual, as extra q/k dims
            q, k = torch.cat([q, extension[0]], -1), torch.cat([k, extension[1]], -1)
        state = AttentionState(q, k, hw, hw, self.head_dims)
        out = attend(state, v, self.dropout_p()).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(out)), state


class GlobalKind(AttentionKind):
    name = 'test-global'
    Options = CrossStageOptions  # patch_padding and the cross-stage residual's options
    carries_attention = True  # global attention nests across stages
    lavit_presets = {'narrow': narrow_arch('window', num_va=[2, 3, 3, 2])}  # its named preset

    def vanilla(self, args, stage, index):
        return GlobalAttention(args)


@pytest.fixture
def global_kind():
    register_attention_kind(GlobalKind)
    yield GlobalKind
    del ATTENTION_KINDS[GlobalKind.name]


def test_a_new_kind_takes_a_named_preset_and_the_cross_stage_residual(global_kind):
    """No code outside the kind's file knows it: its preset comes from the kind's own zoo,
    the residual's extension reaches its first layers, zero-initialised (same outputs), and
    a trained residual changes the attention of each stage's first layer."""
    torch.manual_seed(0)
    plain = LaViT(arch='narrow',
                  attention=dict(type='test-global', cross_stage_residual=False)).eval()
    torch.manual_seed(0)
    model = LaViT(arch='narrow', attention='test-global').eval()  # the kind's default: on
    assert [s.cross_stage is not None for s in model.stages] == [False, True, True, True]
    plain.load_state_dict(model.state_dict(), strict=False)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(model(x), plain(x)):
            torch.testing.assert_close(a, b)
        torch.nn.init.normal_(model.stages[2].cross_stage.query_map)
        first = model.attention_states(x)[2][0]
    assert first.q.shape[-1] == model.stages[2].blocks[0].attn.head_dims + 16  # rank 16
    assert not torch.allclose(first.logits(), first.own().logits())


def test_a_new_attention_kind_plugs_into_every_backbone_path(global_kind):
    arch = narrow_arch('window', num_va=[2, 3, 3, 2])  # VA only: the kind has no LA layer
    model = LaViT(arch=arch, attention='test-global').eval()
    attn = model.stages[1].blocks[0].attn
    assert isinstance(attn, GlobalAttention)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        outs = model(x)
        states = model.attention_states(x)
    expected_shapes = [(2, c, 16 // 2 ** i, 24 // 2 ** i) for i, c in enumerate(arch['embed_dims'])]
    assert [o.shape for o in outs] == expected_shapes
    # the attention it hands on is the softmax attention of its q/k projections
    tokens = model.stages[0](x)[0]  # stage 2's input
    t, hw = model.stages[1].patch_embed(tokens)
    t = model.stages[1].pos_embed(t, hw) if model.stages[1].pos_embed is not None else t
    q, k, _ = attn.qkv(model.stages[1].blocks[0].norm1(t)).chunk(3, -1)
    heads = attn.num_heads
    q, k = (z.view(2, -1, heads, z.shape[-1] // heads).transpose(1, 2) for z in (q, k))
    expected = (q @ k.transpose(-2, -1) * attn.scale).softmax(-1)
    torch.testing.assert_close(states[1][0].logits().softmax(-1), expected, rtol=1e-4,
                               atol=1e-5)


def test_a_kind_refuses_options_and_arch_keys_it_does_not_take(global_kind):
    arch = narrow_arch('window', num_va=[2, 3, 3, 2])
    with pytest.raises(ValueError, match=r"attention.window_size is not an option here; "
                                         r"attention takes .*\(attention='window' takes it\)"):
        LaViT(arch=arch, attention=dict(type='test-global', window_size=4))
    with pytest.raises(ValueError, match="arch keys \\['sr_ratios'\\] do not apply"):
        LaViT(arch=narrow_arch('sra', num_va=[2, 3, 3, 2]), attention='test-global')
    with pytest.raises(ValueError, match="'test-global' has no Less-Attention layer"):
        LaViT(arch=narrow_arch('window'), attention='test-global')
    with pytest.raises(KeyError, match='already registered'):
        register_attention_kind(type('Other', (GlobalKind, ), {}))


# ---------------------------------------------------------------- every option
def _pretrained(tmp_path, model_type, kind):
    torch.manual_seed(5)
    donor = _build(model_type, kind)
    path = tmp_path / f'{model_type.__name__}_{kind}.pth'
    torch.save({'state_dict': donor.state_dict()}, path)
    return dict(type='Pretrained', checkpoint=str(path))


def _arch(model_type, kind, **changes):
    if model_type is LaViT:
        return narrow_arch(kind, **changes)
    depths = narrow_arch(kind)['depths']
    arch = narrow_arch(kind, num_va=list(depths), **changes)  # PVT/Swin: VA layers only
    return dict(arch, **V2_PARTS) if model_type is PVTv2 else arch


def _build(model_type, kind, **options):
    options.setdefault('arch', _arch(model_type, kind))
    if model_type is LaViT:
        options.setdefault('attention', kind)
    model = model_type(**options)
    model.init_weights()
    return model


def _kwargs(model_type, kind, option, value):
    """A dotted option ('less_attention.dp_loss.weight', 'arch.use_conv_ffn') as keywords."""
    *groups, key = option.split('.')
    if not groups:
        return {option: value}
    if groups == ['arch']:
        return dict(arch=dict(_arch(model_type, kind), **{key: value}))
    leaf = {key: value}
    for group in reversed(groups[1:]):
        leaf = {group: leaf}
    if groups[0] == 'attention':
        leaf = dict(type=kind, **leaf)
    return {groups[0]: leaf}


# an alternative value for every public option
def _alternatives(model_type, kind, tmp_path):
    v2 = model_type is PVTv2
    return {
        'arch': _arch(model_type, kind, mlp_ratios=[1, 1, 1, 1]),
        'attention': 'window' if kind == 'sra' else 'sra',
        'attention.patch_padding': 1, 'attention.window_size': 4,
        'attention.pretrain_img_size': 128, 'attention.use_abs_pos_embed': v2,
        'attention.cross_stage_residual': kind != 'sra' or model_type in (PVT, PVTv2),
        'attention.cross_stage_rank': 4,
        'arch.overlap_patch_embed': not v2, 'arch.use_conv_ffn': not v2,
        'in_channels': 1, 'out_indices': (1, 3), 'qkv_bias': False, 'drop_rate': 0.3,
        'attn_drop_rate': 0.3, 'drop_path_rate': 0.5, 'norm_after_stage': (0, ),
        'act_cfg': dict(type='ReLU'), 'norm_cfg': dict(type='LN', eps=1e-2),
        'frozen_stages': 1, 'norm_eval': True, 'with_cp': True, 'check_finite': True,
        'init_cfg': _pretrained(tmp_path, model_type, kind),
        'less_attention.kernel_size': 5, 'less_attention.key_stride': 2,
        'less_attention.head_mix': True, 'less_attention.transform': 'dense',
        'less_attention.map_size': 96, 'less_attention.init': 'linear',
        'less_attention.dp_loss.weight': 0.5, 'less_attention.dp_loss.form': 'paper-corrected',
        'less_attention.dp_loss.margin': 0.5,
        'remedies.reattention': True, 'remedies.lsa': True, 'remedies.spt': True,
        'remedies.stage_types': ('conv', 'attn', 'attn', 'attn'), 'remedies.drloc_weight': 0.2,
        'remedies.drloc_pairs': 8}


def _fingerprint(model, monkeypatch):
    """Everything an option can change: the state, what trains, eval and train outputs and
    losses, whether blocks are checkpointed, and what a NaN input does."""
    torch.manual_seed(0)
    x = torch.randn(2, model.in_channels, 64, 64)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    trains = {n: p.requires_grad for n, p in model.named_parameters()}
    with torch.no_grad():
        evaluated = model.eval()(x)
    calls = []
    real = blocks_module.cp.checkpoint
    monkeypatch.setattr(blocks_module.cp, 'checkpoint',
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(1)
    trained = model.train()(x)
    monkeypatch.setattr(blocks_module.cp, 'checkpoint', real)
    aux = {k: float(v.detach()) for k, v in model.aux_losses().items()}
    try:
        with torch.no_grad():
            model.eval()(torch.full_like(x, float('nan')))
        nan = 'passes'
    except FloatingPointError:
        nan = 'raises'
    return dict(state=state, trains=trains, eval=evaluated, train=trained, aux=aux,
                checkpointed=len(calls), nan=nan)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _public_options(model_type):
    """The top-level keywords and, dotted, every key of every group any kind takes, and the
    arch's PVT v2 parts."""
    names = set(inspect.signature(HierarchicalViT.__init__).parameters)
    names |= set(inspect.signature(model_type.__init__).parameters)
    names -= {'self', 'kwargs', 'flat', 'less_attention', 'remedies'}
    for option_set in [DPLossOptions, Remedies] + [k.Options for k in ATTENTION_KINDS.values()]:
        names |= {option_set.spelling(f.name) for f in dataclasses.fields(option_set)}
    return sorted(names | {f'arch.{part}' for part in ARCH_PARTS})


_LA = {f'less_attention.{k}' for k in ('kernel_size', 'key_stride', 'head_mix', 'transform',
                                       'map_size', 'init', 'dp_loss.weight', 'dp_loss.form',
                                       'dp_loss.margin')}
# (backbone, kind) -> the options refused there, each for a stated reason
REFUSED = {
    (LaViT, 'sra'): {'attention.window_size',  # windows only
                     'attention',  # the 'sra' arch has sr_ratios, which windows refuse
                     'less_attention.map_size',  # sizes dense maps; the transform is 'local'
                     'norm_eval',  # no BatchNorm to keep in eval mode
                     'remedies.drloc_pairs'},  # DRLoc is off (drloc_weight=0)
    (LaViT, 'window'): {'attention.pretrain_img_size', 'less_attention.kernel_size',
                        'less_attention.key_stride', 'attention', 'less_attention.transform',
                        'less_attention.map_size',  # windows' LA maps are dense per window
                        'attention.cross_stage_residual', 'attention.cross_stage_rank',
                        'norm_eval', 'remedies.drloc_pairs', 'attention.use_abs_pos_embed'},
    (PVT, 'sra'): {'attention.window_size', 'attention', *_LA,  # no LA layer in PVT
                   'attention.cross_stage_rank',  # the residual is off in PVT
                   'norm_eval', 'remedies.drloc_pairs'},
    (PVTv2, 'sra'): {'attention.window_size', 'attention', *_LA, 'attention.cross_stage_rank',
                     'norm_eval', 'remedies.drloc_pairs',
                     'attention.pretrain_img_size',  # sizes position tables PVT v2 has not
                     'attention.patch_padding', 'remedies.spt'},  # the overlapping embedding
    (Swin, 'window'): {'attention',  # fixed for Swin
                       'attention.cross_stage_residual', 'attention.pretrain_img_size', *_LA,
                       'attention.cross_stage_rank', 'norm_eval', 'remedies.drloc_pairs',
                       'attention.use_abs_pos_embed'},
}


@pytest.mark.parametrize('model_type,kind', list(REFUSED), ids=lambda v: getattr(v, '__name__', v))
def test_every_option_changes_the_model_or_raises(model_type, kind, tmp_path, monkeypatch):
    alternatives = _alternatives(model_type, kind, tmp_path)
    options = _public_options(model_type)
    assert set(options) == set(alternatives), 'a new option needs an alternative value here'
    torch.manual_seed(0)
    baseline = _fingerprint(_build(model_type, kind), monkeypatch)
    for option in options:
        torch.manual_seed(0)
        try:
            model = _build(model_type, kind,
                           **_kwargs(model_type, kind, option, alternatives[option]))
        except (ValueError, TypeError) as e:
            assert option in REFUSED[(model_type, kind)], f'{option} refused: {e}'
            assert option.split('.')[-1] in str(e) or option == 'attention', (option, str(e))
            continue
        assert option not in REFUSED[(model_type, kind)], f'{option} was accepted'
        changed = _fingerprint(model, monkeypatch)
        assert not _same(baseline, changed), f'{option}={alternatives[option]!r} changed nothing'


@pytest.mark.parametrize('option,value', [
    ('less_attention.dp_loss.weight', -1.), ('less_attention.dp_loss.margin', -0.5),
    ('drop_path_rate', 1.5), ('attn_drop_rate', -0.1), ('less_attention.key_stride', 0),
    ('less_attention.kernel_size', 4), ('attention.cross_stage_rank', 0),
    ('attention.pretrain_img_size', 0), ('in_channels', 0), ('attention.patch_padding', -1),
    ('out_indices', (0, 0)), ('out_indices', (4, )), ('frozen_stages', 5),
    ('norm_after_stage', (7, )), ('init_cfg', dict(type='Kaiming')),
    ('less_attention.key_stride', 1.5), ('remedies.drloc_weight', -0.1),
    ('remedies.drloc_pairs', 0), ('remedies.stage_types', ('conv', )),
    ('remedies.stage_types', ('attn', 'conv', 'attn', 'attn')),
    ('arch.overlap_patch_embed', 'yes'), ('arch.use_conv_ffn', 1),
    ('attention.use_abs_pos_embed', 'no'), ('remedies.lsa', 1), ('remedies.reattention', 'yes'),
    ('less_attention.head_mix', 1), ('remedies.spt', 1),
    ('windw_size', 7)])  # a typo: no kind's option
def test_nonsensical_values_are_refused_by_name(option, value):
    with pytest.raises((ValueError, TypeError), match=option.split('.')[-1]):
        LaViT(**_kwargs(LaViT, 'sra', option, value))


def test_flat_keywords_of_earlier_versions_are_refused_with_their_grouped_spelling():
    for flat, spelling in (('la_kernel_size', 'less_attention=dict(kernel_size=...)'),
                           ('dp_loss_weight', 'less_attention=dict(dp_loss=dict(weight=...))'),
                           ('lsa', 'remedies=dict(lsa=...)'),
                           ('cross_stage_residual',
                            'attention=dict(type=..., cross_stage_residual=...)'),
                           ('overlap_patch_embed', 'arch=dict(..., overlap_patch_embed=...)')):
        with pytest.raises(TypeError, match=re.escape(f'LaViT: {flat} is written {spelling}')):
            LaViT(arch=narrow_arch('sra'), **{flat: 1})


def test_options_are_parsed_once_into_the_kinds_typed_sets():
    """Grouped keys -> the kind's frozen dataclass: given values over the defaults (an arch's
    own default in between), the LA ones marked, and nothing else accepted."""
    sra = LaViT(arch=narrow_arch('sra'), less_attention=dict(key_stride=2),
                remedies=dict(lsa=True))
    window = LaViT(arch=dict(narrow_arch('window'), window_size=4), attention='window')
    # options reach the layers through LayerArgs
    assert sra.stages[1].blocks[0].attn.lsa and sra.stages[1].blocks[-1].attn.key_stride == 2
    assert set(ATTENTION_KINDS['sra'].Options.la_names()) == {
        'la_head_mix', 'la_init', 'la_transform', 'la_map_size', 'la_kernel_size',
        'la_key_stride'}
    assert set(ATTENTION_KINDS['window'].Options.la_names()) == {'la_head_mix', 'la_init'}
    assert window.stages[0].blocks[0].attn.window_size == 4  # the arch's, not the default 7
    parsed = ATTENTION_KINDS['sra'].Options.parse('X', dict(la_key_stride=2))
    assert (parsed.la_key_stride, parsed.la_kernel_size, parsed.lsa) == (2, 3, False)
    assert ATTENTION_KINDS['sra'].Options.spelling('la_key_stride') == 'less_attention.key_stride'
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.la_key_stride = 1


def test_lavit_trains_with_the_dp_loss_by_default():
    assert LaViT(arch=narrow_arch('sra')).dp_loss_weight == 1.0
    assert LaViT(arch=narrow_arch('window'), attention='window').dp_loss_weight == 1.0


@pytest.mark.parametrize('attention', ['sra', 'window'])
def test_any_number_of_stages(attention):
    """Three stages, or five: the specs, the stage loop and the cross-stage residual follow
    the arch's lists."""
    three = {k: v[:3] for k, v in narrow_arch(attention).items()}
    five = {k: v + v[-1:] for k, v in narrow_arch(attention).items()}
    if attention == 'sra':
        five['sr_ratios'] = [8, 4, 2, 1, 1]
    x = torch.randn(1, 3, 96, 128)
    for arch in (three, five):
        n = len(arch['depths'])
        model = LaViT(arch=arch, attention=attention, out_indices=tuple(range(n))).eval()
        with torch.no_grad():
            outs = model(x)
        assert [o.shape[1] for o in outs] == arch['embed_dims']
        assert [o.shape[-1] for o in outs] == [-(-128 // (4 * 2 ** i)) for i in range(n)]
        assert (model.stages[-1].cross_stage is not None) == (attention == 'sra')
