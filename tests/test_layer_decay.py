"""Layer-wise learning-rate decay: get_layer_depth on the backbones, and mmpretrain's
LearningRateDecayOptimWrapperConstructor giving every parameter of a classifier, a detector
and a segmentor the lr of its depth, then training them for a few steps."""
import importlib

import pytest
from mmengine.optim import build_optim_wrapper

from lavit_mm.models import LaViT
from tests.helpers import narrow_arch

RATE = 0.5


def test_depths_follow_the_blocks_through_the_stages():
    # depths 2/3/3/2: 10 blocks
    model = LaViT(arch=narrow_arch('sra'), remedies=dict(drloc_weight=0.1))
    params = dict(model.named_parameters())
    num = 12
    expected = {
        'stages.0.patch_embed.proj.weight': 0, 'stages.0.pos_embed.pos_embed': 0,
        'stages.0.blocks.0.attn.q.weight': 1, 'stages.0.blocks.1.mlp.fc2.bias': 2,
        'stages.0.norm.weight': 2,  # the stage's output norm, with its last block
        'stages.1.patch_embed.proj.weight': 2,  # between stages, as Swin's downsample
        'stages.1.cross_stage.query_map': 3,  # with the first block, which uses it
        'stages.1.blocks.2.attn.theta.weight': 5,  # an LA layer's transforms: its block's
        'stages.3.blocks.1.attn.psi.weight': 10, 'stages.3.norm.bias': 10,
        'drloc.mlp.0.weight': 11}  # outside the stages: last
    assert set(expected) <= set(params)
    got = {k: model.get_layer_depth(k) for k in expected}
    assert got == {k: (d, num) for k, d in expected.items()}
    assert model.get_layer_depth('backbone.stages.1.blocks.0.attn.q.weight', 'backbone.') \
        == (3, num)
    assert model.get_layer_depth('neck.lateral_convs.0.conv.weight', 'backbone.') == (11, num)


def _decay_wrapper(constructor):
    return dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                constructor=constructor, paramwise_cfg=dict(layer_decay_rate=RATE))


def _task_model(toolbox: str, arch: dict):
    """(config of a small task model of ``toolbox`` on a narrow LaViT, a batch for it)."""
    import torch
    backbone = dict(type='lavit_mm.LaViT', arch=arch, out_indices=(3, ) if toolbox ==
                    'mmpretrain' else (0, 1, 2, 3), drop_path_rate=0.)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    if toolbox == 'mmpretrain':
        import lavit_mm.models.cls  # noqa: F401
        from mmpretrain.structures import DataSample
        cfg = dict(type='lavit_mm.ImageClassifier', backbone=backbone,
                   data_preprocessor=dict(type='ClsDataPreprocessor'),
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=4, in_channels=64,
                             loss=dict(type='CrossEntropyLoss')))
        return cfg, dict(inputs=images, data_samples=[
            DataSample().set_gt_label(torch.tensor([i])) for i in (1, 3)])
    if toolbox == 'mmseg':
        import lavit_mm.models.seg  # noqa: F401
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        cfg = dict(type='lavit_mm.EncoderDecoder', backbone=backbone,
                   data_preprocessor=dict(type='SegDataPreProcessor', size=(64, 64)),
                   neck=dict(type='FPN', in_channels=arch['embed_dims'], out_channels=16,
                             num_outs=4),
                   decode_head=dict(type='FPNHead', in_channels=[16] * 4, in_index=[0, 1, 2, 3],
                                    feature_strides=[4, 8, 16, 32], channels=16, num_classes=3,
                                    dropout_ratio=0., align_corners=False,
                                    loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.)))
        samples = []
        for _ in images:
            sample = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, 3, (1, 64, 64))))
            sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64),
                                     pad_shape=(64, 64)))
            samples.append(sample)
        return cfg, dict(inputs=images, data_samples=samples)
    import lavit_mm.models.det  # noqa: F401
    from mmdet.testing import demo_mm_inputs
    cfg = dict(type='lavit_mm.RetinaNet', backbone=backbone,
               data_preprocessor=dict(type='DetDataPreprocessor'),
               neck=dict(type='FPN', in_channels=arch['embed_dims'], out_channels=32,
                         start_level=1, add_extra_convs='on_input', num_outs=5),
               bbox_head=dict(type='RetinaHead', num_classes=4, in_channels=32,
                              feat_channels=32, stacked_convs=1,
                              anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                                    scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                                    strides=[8, 16, 32, 64, 128]),
                              bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                              target_stds=[1.0] * 4),
                              loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                                            alpha=0.25, loss_weight=1.0),
                              loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
               train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                            neg_iou_thr=0.4, min_pos_iou=0, ignore_iof_thr=-1),
                              sampler=dict(type='PseudoSampler'), allowed_border=-1,
                              pos_weight=-1, debug=False))
    return cfg, demo_mm_inputs(2, [[3, 64, 64]] * 2, num_classes=4)


@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmdet', 'mmseg'])
def test_the_decay_reaches_every_parameter_and_trains(toolbox):
    """mmpretrain's constructor on our classifier (mmpretrain's delegation), RetinaNet and
    EncoderDecoder (lavit_mm's): lr = base * rate ** (num - depth - 1), necks and heads at
    the base lr; then a few training steps through the task model's ``train_step``."""
    import torch
    import mmpretrain.engine  # noqa: F401  (registers the constructor)
    from mmengine.registry import DefaultScope
    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    importlib.import_module(f'{toolbox}.utils').register_all_modules()
    arch = narrow_arch('sra')
    cfg, data = _task_model(toolbox, arch)
    with DefaultScope.overwrite_default_scope(toolbox):
        model = registry.build(cfg)
        model.init_weights()
        wrapper = build_optim_wrapper(
            model, _decay_wrapper('mmpretrain.LearningRateDecayOptimWrapperConstructor'))
    lrs = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    num = sum(arch['depths']) + 2
    first = 'backbone.stages.0.blocks.0.attn.q.weight'
    last = 'backbone.stages.3.blocks.1.mlp.fc1.weight'
    head = next(k for k in lrs if not k.startswith('backbone.'))
    print(f'{toolbox}: lr of the first block {lrs[first]:.3g}, of the last block '
          f'{lrs[last]:.3g}, of {head} {lrs[head]:.3g}')
    assert lrs[first] == pytest.approx(1e-3 * RATE ** (num - 2))
    assert lrs[last] == pytest.approx(1e-3 * RATE ** 1)
    assert lrs[head] == pytest.approx(1e-3)
    assert lrs['backbone.stages.0.patch_embed.proj.weight'] == pytest.approx(
        1e-3 * RATE ** (num - 1))
    assert len(lrs) == sum(p.requires_grad for p in model.parameters())
    params = dict(model.named_parameters())
    before = {k: params[k].detach().clone() for k in (first, last)}
    model.train()
    for _ in range(3):
        log = model.train_step(data, wrapper)
        assert 'loss_dp' in log and all(torch.isfinite(v) for v in log.values())
    # AdamW's first steps move each weight by about its lr: the first block ~2^-10 as much
    moved = {k: (params[k].detach() - before[k]).abs().max().item() for k in before}
    assert 0 < moved[first] < moved[last] / 100
