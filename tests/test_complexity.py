"""The plain backbones' classification forms match their papers' size and cost (params within
3%, FLOPs within 10%), counted with mmengine's analysis tools as tools/analysis/get_flops.py."""
import re

import pytest

from lavit_mm_lab import ClassificationForm, count_flops, count_params
from lavit_mm.models import PVT, LaViT, Swin

PAPERS = {  # params (M), GFLOPs at 224
    'PVT-T': (lambda: PVT(arch='tiny'), 13.2, 1.9),
    'PVT-S': (lambda: PVT(arch='small'), 24.5, 3.8),
    'PVT-M': (lambda: PVT(arch='medium'), 44.2, 6.7),
    'Swin-T': (lambda: Swin(arch='tiny'), 28.3, 4.5),
}


@pytest.mark.parametrize('name', sorted(PAPERS))
def test_plain_backbones_match_paper_params_and_flops(name):
    make, params, gflops = PAPERS[name]
    model = ClassificationForm(make())
    assert count_params(model) / 1e6 == pytest.approx(params, rel=0.03)
    if name in ('PVT-T', 'Swin-T'):  # FLOP tracing of the larger ones costs ~10 s each
        assert count_flops(model, (224, 224)) / 1e9 == pytest.approx(gflops, rel=0.10)


def test_lavit_saves_the_qk_projections_of_its_la_layers():
    pvt = ClassificationForm(PVT(arch='small'))
    lavit = ClassificationForm(LaViT(arch='pvt1-small'))  # PVT-S's widths and depths
    la = [b.attn for s in lavit.backbone.stages for b in s.blocks if b.is_less_attention]
    saved = sum(2 * a.proj.in_features * (a.proj.in_features + 1) for a in la)  # q and k
    added = sum(a.theta.weight.numel() + a.psi.weight.numel() for a in la)
    extra = sum(p.numel() for n, p in lavit.named_parameters()  # residual mixes, output norms
                if 'cross_stage' in n or re.match(r'backbone\.stages\.\d+\.norm\.', n))
    assert count_params(pvt) - count_params(lavit) == saved - added - extra


def test_mmdets_count_is_ours_without_the_attention_products():
    """mmdet's get_flops (mmengine's get_model_complexity_info) skips the fused attention:
    ours minus theirs is exactly q k^T + P v of every layer, B * N * N_k * 2C per layer."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from tests.helpers import narrow_arch
    model = PVT(arch=narrow_arch('sra', num_va=[2, 3, 3, 2]), pretrain_img_size=64).eval()
    theirs = get_model_complexity_info(model, inputs=(torch.zeros(1, 3, 64, 64), ),
                                       show_table=False, show_arch=False)['flops']
    assert count_flops(model, (64, 64), attention_products=False) == theirs
    products = 0
    for i, stage in enumerate(model.stages):
        side = 64 // 4 // 2 ** i  # token grid
        for block in stage.blocks:
            n_k = max(side // block.attn.reduce.sr_ratio, 1) ** 2
            products += side * side * n_k * 2 * model.num_features[i]
    assert count_flops(model, (64, 64)) - theirs == products
