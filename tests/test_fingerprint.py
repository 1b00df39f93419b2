"""The refactor check (tools/analysis/fingerprint.py) is reproducible and sees one bit."""
import torch

from lavit_mm_lab.fingerprint import CONFIGS, compare, fingerprint


def test_the_same_code_gives_the_same_bits_and_a_changed_bit_is_named():
    torch.set_num_threads(1)
    names = ['lavit', 'lavit_window', 'lavit_plain']
    a, b = fingerprint(names), fingerprint(names)
    assert compare(a, b) == []
    assert {'loss.loss_dp', 'loss.outputs'} <= set(a['lavit'])
    assert any(k.startswith('grad.') for k in a['lavit_window'])
    key = next(k for k in b['lavit'] if k.startswith('grad.'))
    flipped = b['lavit'][key].clone().view(-1)
    flipped[0] = torch.nextafter(flipped[0], flipped[0] + 1)  # one ulp
    b['lavit'][key] = flipped.view_as(b['lavit'][key])
    del b['lavit_plain']['loss.outputs']
    assert compare(a, b) == [f'lavit: {key} differs (max abs '
                             f'{(flipped[0] - a["lavit"][key].view(-1)[0]).abs().item():.3g})',
                             'lavit_plain: loss.outputs only in before']


def test_every_configuration_builds():
    from lavit_mm.models.model_spec import build_backbone
    kinds = {type(build_backbone(cfg)).__name__ for cfg in CONFIGS.values()}
    assert kinds == {'PVT', 'PVTv2', 'Swin', 'LaViT', 'LaViTPlain'}
