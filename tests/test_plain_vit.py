"""LaViTPlain: equal to mmpretrain's VisionTransformer without LA layers, mmpretrain/DeiT
checkpoints into LA models with an exact load report, the LA layer on the class token, the
DP loss through mmpretrain's classifier, and its refusals."""
import pytest
import torch

from lavit_mm.models import LaViTPlain
from lavit_mm.models.checkpoint import load_pretrained
from lavit_mm.models.convert import detect_layout

# a narrow DeiT at 32 px (patch 4: an 8 x 8 grid), 4 layers
ARCH = dict(embed_dims=48, num_layers=4, num_heads=3, feedforward_channels=96)


def randomize(model, seed=0, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    model.eval()  # (mmpretrain's train() returns None)
    return model


def mmpretrain_vit(**kw):
    from mmpretrain.models.backbones import VisionTransformer
    return randomize(VisionTransformer(arch=dict(ARCH), img_size=32, patch_size=4, **kw))


def images(*size, seed=1):
    return torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize('kw', [
    dict(out_type='cls_token'),
    dict(out_type='featmap', out_indices=[1, 3]),
    dict(out_type='avg_featmap', with_cls_token=False),
    dict(out_type='raw', final_norm=False),
])
@pytest.mark.parametrize('size', [(32, 32), (44, 27)])  # the table interpolated; corner padding
def test_without_la_layers_it_is_mmpretrains_vit(kw, size):
    theirs = mmpretrain_vit(**kw)
    ours = LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4, **kw).eval()
    ours.load_state_dict(theirs.state_dict())  # strict: the same keys and shapes
    with torch.no_grad():
        a, b = theirs(images(*size)), ours(images(*size))
    assert len(a) == len(b) == len(kw.get('out_indices', [-1]))
    for x, y in zip(a, b):
        assert x.shape == y.shape
        assert (x - y).abs().max() < 1e-5
    names = [n for n, _ in theirs.named_parameters()]
    assert [ours.get_layer_depth(n, 'backbone.') for n in names] == \
        [theirs.get_layer_depth(n, 'backbone.') for n in names]
    assert [ours.get_layer_depth('backbone.' + n, 'backbone.') for n in names] == \
        [theirs.get_layer_depth('backbone.' + n, 'backbone.') for n in names]


def test_a_fresh_la_layer_passes_the_attention_on_class_token_included():
    model = randomize(LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4,
                                 less_attention=dict(layers='2va+2la')))
    for la in model.la_layers:  # Theta/Psi back at their identity init
        la.theta.reset_parameters()
        la.psi.reset_parameters()
    with torch.no_grad():
        states = model.attention_states(images(32, 32))[0]
    logits = [s.logits() for s in states]  # (B, h, 65, 65)
    assert logits[0].shape == (2, 3, 65, 65)
    assert torch.equal(logits[2], logits[1]) and torch.equal(logits[3], logits[1])
    assert not torch.allclose(logits[1], logits[0])
    # trained Psi/Theta mix the patch tokens only: the class-class logit is passed on
    la = model.la_layers[0]
    with torch.no_grad():
        la.theta.weight.normal_()
        la.psi.weight.normal_()
        mixed = model.attention_states(images(32, 32))[0][2].logits()
    assert torch.allclose(mixed[..., 0, 0], logits[1][..., 0, 0], atol=1e-6)
    assert not torch.allclose(mixed[..., 1:, 1:], logits[1][..., 1:, 1:], atol=1e-3)


def write_mmpretrain_classifier(path, seed=0):
    """A random checkpoint of mmpretrain's ImageClassifier (backbone ViT, linear head)."""
    state = {f'backbone.{k}': v for k, v in mmpretrain_vit().state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    state['head.layers.head.weight'] = torch.randn(10, 48, generator=g)
    state['head.layers.head.bias'] = torch.randn(10, generator=g)
    torch.save({'meta': {}, 'state_dict': state}, path)
    return state


@pytest.mark.parametrize('layout', ['mmpretrain-vit', 'deit-official'])
def test_vit_checkpoints_load_into_la_models_with_an_exact_report(tmp_path, layout):
    """mmpretrain (or official DeiT) weights -> converter CLI -> a 2 VA + 2 LA model: VA
    layers loaded whole, LA layers keep the value third of qkv and drop q/k, Theta/Psi left
    at their init; the report says exactly that."""
    import subprocess
    import sys
    src = tmp_path / 'vit.pth'
    state = write_mmpretrain_classifier(src)
    backbone = {k[9:]: v for k, v in state.items() if k.startswith('backbone.')}
    if layout == 'deit-official':  # the same weights under the official DeiT names
        back = {'ln1.': 'norm1.', 'ln2.': 'norm2.', 'ffn.layers.0.0.': 'mlp.fc1.',
                'ffn.layers.1.': 'mlp.fc2.'}
        official = {}
        for k, v in backbone.items():
            k = k.replace('patch_embed.projection.', 'patch_embed.proj.')
            if k.startswith('layers.'):
                for a, b in back.items():
                    k = k.replace(a, b)
                k = 'blocks.' + k[len('layers.'):]
            elif k.startswith('ln1.'):
                k = 'norm.' + k[4:]
            official[k] = v
        official['head.weight'] = torch.randn(10, 48)
        assert detect_layout(official) == 'deit-official'
        torch.save({'model': official}, src)
    dst = tmp_path / 'converted.pth'
    subprocess.run([sys.executable, 'tools/convert_weights.py', '--from', layout, str(src),
                    str(dst)], check=True, capture_output=True)
    model = LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4,
                       less_attention=dict(layers='2va+2la'))
    report = load_pretrained(model, str(dst))
    assert sorted(report.missing) == sorted(
        f'layers.{i}.attn.{t}.weight' for i in (2, 3) for t in ('theta', 'psi'))
    assert sorted(report.unused) == [f'layers.{i}.attn.qkv.{p}' for i in (2, 3)
                                     for p in ('bias', 'weight')]
    own = model.state_dict()
    for k, v in backbone.items():
        if k in own:
            assert torch.equal(own[k], v), k
    for i in (2, 3):
        assert torch.equal(own[f'layers.{i}.attn.v.weight'],
                           backbone[f'layers.{i}.attn.qkv.weight'][96:])


def test_a_checkpoint_of_another_image_size_gets_its_table_resized():
    theirs = mmpretrain_vit()
    ours = LaViTPlain(arch=dict(ARCH), img_size=48, patch_size=4)
    ours.load_state_dict(theirs.state_dict())
    assert ours.pos_embed.shape == (1, 1 + 12 * 12, 48)
    assert torch.equal(ours.pos_embed[:, 0], theirs.pos_embed[:, 0])


def test_the_dp_loss_reaches_mmpretrains_classifier_and_a_stock_one_is_refused():
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    from mmpretrain.utils import register_all_modules

    import lavit_mm.models.cls  # noqa: F401  (registers lavit_mm.ImageClassifier)
    register_all_modules()
    backbone = dict(type='lavit_mm.LaViTPlain', arch=dict(ARCH), img_size=32, patch_size=4,
                    less_attention=dict(layers=['va', 'la'] * 2))
    head = dict(type='LinearClsHead', num_classes=4, in_channels=48)
    samples = [DataSample().set_gt_label(torch.tensor([i])) for i in (1, 3)]
    model = MODELS.build(dict(type='lavit_mm.ImageClassifier', backbone=backbone, neck=None,
                              head=head))
    model.init_weights()
    model.train()
    losses = model.loss(images(32, 32), samples)
    assert losses['loss_dp'] > 0 and losses['loss_dp'].requires_grad
    sum(losses.values()).backward()
    la = model.backbone.la_layers[0]
    assert la.theta.weight.grad.abs().sum() > 0
    assert int(model.backbone.dp_step) == 1
    stock = MODELS.build(dict(type='ImageClassifier', backbone=backbone, head=head))
    stock.train()
    stock.loss(images(32, 32), samples)
    with pytest.raises(RuntimeError, match='loss_dp.*never collected.*'
                                           'less_attention.dp_loss.weight=0'):
        stock.loss(images(32, 32), samples)


def test_frozen_layers_stay_frozen_through_train():
    model = LaViTPlain(arch=dict(ARCH), frozen_stages=2, drop_rate=0.5,
                       less_attention=dict(layers='2va+2la'))
    model.train()
    assert not model.layers[1].training and model.layers[2].training
    assert not model.pos_embed.requires_grad and not model.cls_token.requires_grad
    assert not any(p.requires_grad for p in model.layers[:2].parameters())
    assert all(p.requires_grad for p in model.layers[2:].parameters())


@pytest.mark.parametrize('kw,message', [
    (dict(less_attention=dict(layers='1la+3va')), "layer 0 is 'la'.*first layer must be 'va'"),
    (dict(less_attention=dict(layers=['va', 'la', 'xa', 'va'])), r"unknown layer types \['xa'\]"),
    (dict(less_attention=dict(layers='3va+3la')), 'gives 6 layers and the arch has num_layers=4'),
    (dict(less_attention=dict(layers='3 va, 1 la')), "not a sum of '<count>va'"),
    (dict(less_attention=dict(kernel_size=5)), "less_attention.kernel_size configures "
     "Less-Attention layers and less_attention.layers has none"),
    (dict(less_attention=dict(layers='4va', dp_loss=dict(weight=0.5))),
     'less_attention.dp_loss.weight configures Less-Attention'),
    (dict(less_attention=dict(dp_loss=dict(margin=2.0))),
     'less_attention.dp_loss.margin configures Less-Attention'),
    (dict(layer_cfgs=dict(layer_scale_init_value=0.1)),
     r"layer_cfgs keys \['layer_scale_init_value'\] are not offered"),
    (dict(less_attention=dict(layers='2va+2la', head_mix=True)),
     r"less_attention.head_mix is not an option here; less_attention takes \['init', "
     r"'kernel_size', 'layers', 'transform', 'dp_loss'\]"),
    (dict(out_type='cls_token', with_cls_token=False), "needs with_cls_token=True"),
    (dict(out_type='tokens'), "out_type 'tokens' is not one of"),
    (dict(out_indices=[4]), r'out_indices \[4\] must be layer indices'),
    (dict(arch='deit-huge'), "unknown arch 'deit-huge'"),
    (dict(arch=dict(ARCH, num_heads=5)), 'embed_dims 48 not divisible by num_heads 5'),
    (dict(arch=dict(ARCH, depths=[2])), r"unknown arch keys \['depths'\]"),
])
def test_refusals(kw, message):
    kw = dict(dict(arch=dict(ARCH)), **kw)
    with pytest.raises(ValueError, match=message):
        LaViTPlain(**kw)


@pytest.mark.parametrize('less_attention,remedies,error,message', [
    (dict(dp_loss=dict(weight=-1.)), None, ValueError,
     'less_attention.dp_loss.weight must be >= 0, got -1.0'),
    (dict(dp_loss=dict(margin='1')), None, TypeError,
     "less_attention.dp_loss.margin must be a number, got '1'"),
    (dict(kernel_size=0), None, ValueError, 'less_attention.kernel_size must be >= 1, got 0'),
    (dict(kernel_size=3.0), None, TypeError, 'less_attention.kernel_size must be an int'),
    (dict(kernel_size=2), None, ValueError, 'less_attention.kernel_size must be odd'),
    ({}, dict(lsa=1), TypeError, 'remedies.lsa must be True or False, got 1'),
    ({}, dict(reattention='yes'), TypeError,
     "remedies.reattention must be True or False, got 'yes'"),
])
def test_option_values_are_checked_as_the_hierarchical_backbones_check_them(
        less_attention, remedies, error, message):
    """The plain ViT's options go through typed sets as HierarchicalViT's: the DP loss's
    (DPLossOptions), the transform's (TransformOptions), re-attention and LSA (BlockOptions)."""
    with pytest.raises(error, match=message):
        LaViTPlain(arch=dict(ARCH), less_attention=dict(layers='2va+2la', **less_attention),
                   remedies=remedies)


def test_the_collapse_analysis_reads_every_layer_class_token_column_included():
    from lavit_mm_lab.attention import (collect_attention, cross_layer_similarity,
                                        query_attention_map)
    model = randomize(LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4,
                                 less_attention=dict(layers='2va+2la'), remedies=dict(lsa=True)),
                      scale=0.3)  # attention not uniform
    for la in model.la_layers:
        la.theta.reset_parameters()
        la.psi.reset_parameters()
    (layers, ) = collect_attention(model, images(32, 32), max_queries=40)
    assert [a.kind for a in layers] == ['VA', 'VA', 'LA', 'LA']
    assert layers[0].probs.shape == (2, 3, 40, 65)  # 40 grid queries x (class token + 64)
    sim = cross_layer_similarity(layers)
    # LSA masks a VA layer's own token, an LA layer inherits the logits without the mask
    # (layers/locality.py): a fresh LA layer is near, not at, its VA layer
    assert 0.5 < sim[1, 2] < 1 and sim[2, 3] == pytest.approx(1.0, abs=1e-6)
    assert sim[0, 1] < 0.99  # two VA layers' own attentions differ
    rows = layers[1].probs[0, :, torch.arange(40), layers[1].query_index + 1]
    assert rows.abs().max() < 1e-3  # the own token masked (LSA, VA only)
    assert query_attention_map(layers[2], (0.5, 0.5)).shape == (8, 8)


def test_hostile_inputs_get_clear_errors_or_empty_outputs():
    model = LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4, out_type='featmap',
                       out_indices=[1, 3], less_attention=dict(layers='2va+2la')).train()
    outs = model(torch.zeros(0, 3, 32, 32))
    assert [o.shape for o in outs] == [(0, 48, 8, 8)] * 2
    assert model.training and int(model.dp_step) == 0 and model.aux_losses() == {}
    with pytest.raises(TypeError, match='images must be a float tensor.*uint8'):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(RuntimeError, match='input images hold NaN/Inf in training'):
        model(torch.full((2, 3, 32, 32), float('nan')))
    with pytest.raises(FloatingPointError, match=r'batch samples \[1\]'):
        bad = torch.zeros(2, 3, 32, 32)
        bad[1, 0, 0, 0] = float('inf')
        LaViTPlain(arch=dict(ARCH), img_size=32, patch_size=4, check_finite=True).eval()(bad)
    with pytest.raises(TypeError, match='init_cfg checkpoint must be a file path.*123'):
        LaViTPlain(arch=dict(ARCH), init_cfg=dict(type='Pretrained', checkpoint=123))
