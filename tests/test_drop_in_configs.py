"""mmdet's and mmseg's own configs with our backbones, ``type`` changed and nothing else
(``configs/drop_in/``, docs/guide.md "From mmdet's and mmseg's configs").

The oracle is the toolbox's config unchanged: its stock backbone, given random weights and
saved in the toolbox's layout, is the release file; ours, built from the drop-in config with
that file in its ``init_cfg``, converts it on load and must compute the same feature maps.
Then the whole detector / segmentor of the drop-in config trains a step on a small input.
The LaViT drop-ins load the same kind of file, everything but their LA parts.
"""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper

from tests.test_interop import max_diffs, randomize

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DROP_IN = osp.join(ROOT, 'configs', 'drop_in')
LA_ONLY = r'\.attn\.(theta|psi)\.weight$|\.cross_stage\.'

# drop-in config: (toolbox, the stock config it changes, our backbone class)
CONFIGS = {
    'retinanet_pvtv2-b2_fpn_1x_coco': ('mmdet', 'mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py',
                                       'PVTv2'),
    'retinanet_swin-t-p4-w7_fpn_1x_coco': (
        'mmdet', 'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py', 'Swin'),
    'upernet_swin-tiny-patch4-window7_ade20k-512x512': (
        'mmseg', 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_'
        'ade20k-512x512.py', 'Swin'),
    'retinanet_lavit-pvtv2-b2_fpn_1x_coco': (
        'mmdet', 'mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py', 'LaViT'),
    'upernet_lavit-window-tiny_ade20k-512x512': (
        'mmseg', 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_'
        'ade20k-512x512.py', 'LaViT'),
}


def registry(toolbox: str):
    if toolbox == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
    else:
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules
    register_all_modules()
    return MODELS


def release_of_stock_backbone(toolbox: str, stock: str, path) -> torch.nn.Module:
    """The stock config's backbone with random weights, saved to ``path`` as a release
    would be (``state_dict`` in the toolbox's layout)."""
    from mmengine.hub import get_config
    cfg = get_config(stock).model.backbone
    cfg.init_cfg, cfg.drop_path_rate = None, 0.
    backbone = randomize(registry(toolbox).build(cfg))
    torch.save({'state_dict': backbone.state_dict()}, path)
    return backbone


def drop_in_config(name: str, checkpoint: str) -> Config:
    cfg = Config.fromfile(osp.join(DROP_IN, f'{name}.py'))
    assert '://' in cfg.model.backbone.init_cfg.checkpoint  # the release URL, swapped here
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.model.backbone.drop_path_rate = 0.
    return cfg


def one_step(toolbox: str, model) -> dict:
    """One training step on a small input through mmengine's ``train_step``."""
    if toolbox == 'mmdet':
        from mmdet.testing import demo_mm_inputs
        data = demo_mm_inputs(2, [[3, 96, 128]] * 2, num_classes=80)
    else:
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(2):
            sample = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64),
                                                 ori_shape=(64, 64)))
            sample.gt_sem_seg = PixelData(data=torch.randint(0, 150, (1, 64, 64)))
            samples.append(sample)
        data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
                    data_samples=samples)
    model.train()
    return model.train_step(data, OptimWrapper(torch.optim.AdamW(model.parameters(), 1e-4)))


def test_every_drop_in_config_is_tested():
    import glob
    shipped = {osp.basename(p)[:-3] for p in glob.glob(osp.join(DROP_IN, '*.py'))}
    assert shipped == set(CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_toolbox_config_with_our_backbone_loads_its_release_and_trains(name, tmp_path):
    toolbox, stock, ours_class = CONFIGS[name]
    release = tmp_path / 'release.pth'
    stock_backbone = release_of_stock_backbone(toolbox, stock, release)
    cfg = drop_in_config(name, str(release))
    if toolbox == 'mmseg':
        cfg.model.data_preprocessor.size = (64, 64)  # mmseg's 512x512 crops, made small
    model = revert_sync_batchnorm(registry(toolbox).build(cfg.model))  # as the Runner on CPU
    assert type(model.backbone).__name__ == ours_class
    model.init_weights()
    state, stock_state = model.backbone.state_dict(), stock_backbone.state_dict()

    if ours_class != 'LaViT':  # the same model: the same feature maps
        diffs = max_diffs(stock_backbone, model.backbone.eval(), (96, 128))
        assert len(diffs) == len(model.backbone.out_indices) and max(diffs) < 1e-4, diffs
    else:  # everything the file has but what LA layers do not compute (their q/k and, in
        # windows, their relative position bias); the LA parts start fresh
        from lavit_mm.models.convert import detect_layout
        from lavit_mm.models.convert import convert
        converted = convert(stock_state, detect_layout(stock_state))
        shared = [k for k in converted if k in state]
        assert all(torch.equal(state[k], converted[k]) for k in shared)
        unused = set(converted) - set(state)
        not_computed = r'\.attn\.(q|kv|qkv)\.|\.attn\.relative_position_bias_table$'
        assert unused and all(re.search(not_computed, k) for k in unused), unused
        fresh = [k for k in state if k not in converted and not k.endswith('dp_step')
                 and not re.search(r'\.attn\.v\.|relative_position_index', k)]
        assert fresh and all(re.search(LA_ONLY, k) for k in fresh), fresh

    before = {k: v.clone() for k, v in state.items()}
    log = one_step(toolbox, model)
    assert all(torch.isfinite(v) for v in log.values())
    assert ('loss_dp' in log) == (ours_class == 'LaViT')
    after = model.backbone.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in before if 'dp_step' not in k)


def test_toolbox_keywords_build_the_toolbox_class_defaults_and_presets():
    """mmdet's keywords over its class defaults give our presets; a type swap with no
    keyword gives ours."""
    from lavit_mm.models.backbones import PVT, PVTv2, Swin
    assert PVTv2(embed_dims=32, num_layers=[2, 2, 2, 2]).stage_specs == \
        PVTv2(arch='b0').stage_specs
    assert PVTv2(embed_dims=64, num_layers=[3, 4, 6, 3], drop_path_rate=0.).state_dict() \
        .keys() == PVTv2(arch='b2').state_dict().keys()
    assert PVT(num_layers=[2, 2, 2, 2]).stage_specs == PVT(arch='tiny').stage_specs
    assert Swin(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32]).stage_specs \
        == Swin(arch='base').stage_specs
    # mmdet's PVTv2-b5 config names its MLP ratios
    assert PVTv2(embed_dims=64, num_layers=[3, 6, 40, 3], mlp_ratios=(4, 4, 4, 4)).stage_specs \
        == PVTv2(arch='b5').stage_specs


@pytest.mark.parametrize('cls, kwargs, message', [
    ('PVTv2', dict(patch_sizes=[4, 2, 2, 2]), r'patch_sizes=\[4, 2, 2, 2\], strides=.*PVT '
     r"v2's overlap"),
    ('PVTv2', dict(num_layers=[2, 2, 2]), r'num_layers=\[2, 2, 2\] has 3 entries for '
     r'num_stages=4'),
    ('PVTv2', dict(convert_weights=False), r'convert_weights=False .* converted while loading'),
    ('PVT', dict(pretrained='x.pth'), r"pretrained='x.pth' .*init_cfg=dict\(type='Pretrained'"),
    ('Swin', dict(qk_scale=0.1), r'qk_scale=0.1 .*head_dim \*\* -0.5'),
    ('Swin', dict(patch_norm=False), r'patch_norm=False .*always normalised'),
    ('Swin', dict(use_abs_pos_embed=True), r'use_abs_pos_embed=True .*relative position'),
    ('Swin', dict(patch_size=2), r'strides\[0\]=4 and patch_size=2'),
    ('PVTv2', dict(arch='b0', embed_dims=64), r"embed_dims=64 .*differs from arch='b0', which "
     r'has embed_dims=32'),
    ('LaViT', dict(embed_dims=64, num_layers=[3, 4, 6, 3]),
     r"not where the Less-Attention layers go: name a preset .*'pvtv2-b2'"),
    ('LaViT', dict(arch='pvtv2-b2', num_layers=[2, 2, 2, 2]), r"num_layers=\[2, 2, 2, 2\] "
     r"\(mmdet's PyramidVisionTransformerV2's keyword\) differs from arch='pvtv2-b2'"),
    ('LaViT', dict(arch='tiny', attention='window', mlp_ratio=2),
     r"mlp_ratio=2 \(mmdet's/mmseg's SwinTransformer's keyword\) differs"),
])
def test_toolbox_keywords_we_do_not_build_are_refused_by_name(cls, kwargs, message):
    import lavit_mm.models.backbones as backbones
    with pytest.raises(ValueError, match=message):
        getattr(backbones, cls)(**kwargs)


def test_pretrain_img_size_is_kept_where_it_sizes_a_position_table():
    """PVT v1 has a table, so mmdet's pretrain_img_size sizes it; PVT v2 has none: beside
    mmdet's keywords it is dropped as mmdet drops it, alone it is refused (it would do
    nothing)."""
    from lavit_mm.models.backbones import PVT, PVTv2
    table = PVT(num_layers=[2, 2, 2, 2], pretrain_img_size=64).stages[0].pos_embed
    default = PVT(num_layers=[2, 2, 2, 2]).stages[0].pos_embed
    assert table.pos_embed.shape != default.pos_embed.shape
    assert PVTv2(num_layers=[2, 2, 2, 2], pretrain_img_size=64).stages[0].pos_embed is None
    with pytest.raises(ValueError, match='pretrain_img_size'):
        PVTv2(pretrain_img_size=64)
