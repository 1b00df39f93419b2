"""Bad input gets an error that names the problem (and the fix)."""
import pytest
import torch

from lavit_mm.models import PVT, LaViT


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match=r"unknown arch 'huge'.*\['base', 'pvt1-base', "
                                         r"'pvt1-small', .*'tiny', 'tiny-32px'\]"):
        LaViT(arch='huge')


def test_inconsistent_per_stage_lists():
    arch = dict(LaViT.arch_zoo['tiny'], depths=[2, 2, 2])
    with pytest.raises(ValueError, match='one entry per stage.*depths'):
        LaViT(arch=arch)


def test_missing_arch_key():
    with pytest.raises(ValueError, match=r"missing \['sr_ratios'\]"):
        LaViT(arch={k: v for k, v in LaViT.arch_zoo['tiny'].items() if k != 'sr_ratios'})


def test_num_va_is_refused_outside_its_range():
    """Stage 1 needs a VA layer (test_la_only_stages); no stage has more VA layers than depth."""
    arch = dict(LaViT.arch_zoo['tiny'], num_va=[2, 4, 1, 1])  # stage 2 has depth 3
    with pytest.raises(ValueError, match=r'stage 1: num_va=4 must be in \[0, depth=3\]'):
        LaViT(arch=arch)


def test_heads_must_divide_dims():
    arch = dict(LaViT.arch_zoo['tiny'], num_heads=[3, 2, 5, 8])
    with pytest.raises(ValueError, match='stage 0: embed_dims 64 not divisible by num_heads 3'):
        LaViT(arch=arch)


def test_unknown_attention_kind():
    with pytest.raises(ValueError, match="unknown attention 'linear'"):
        LaViT(arch='tiny', attention='linear')


def test_out_indices_out_of_range():
    with pytest.raises(ValueError, match='out_indices'):
        LaViT(arch='tiny', out_indices=(0, 4))


def test_wrong_channel_count_names_both_counts_and_the_fix():
    model = LaViT(arch='tiny').eval()
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\), got \(1, 1, 64, 64\).*in_channels=1'):
        model(torch.randn(1, 1, 64, 64))
    grey = LaViT(arch='tiny', in_channels=1).eval()
    assert grey(torch.randn(1, 1, 64, 64))[0].shape == (1, 64, 16, 16)


def test_input_smaller_than_a_patch():
    model = PVT(arch='tiny').eval()  # floor-size patches, as mmdet's PVT
    with pytest.raises(ValueError, match='smaller than one 4x4 patch'):
        model(torch.randn(1, 3, 3, 64))


def test_tiny_inputs_work_with_corner_padding():
    model = LaViT(arch='pvt1-tiny').eval()  # pads up to whole patches
    outs = model(torch.randn(1, 3, 20, 9))
    assert [tuple(o.shape[-2:]) for o in outs] == [(5, 3), (3, 2), (2, 1), (1, 1)]
