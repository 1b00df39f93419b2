"""Layer-wise learning-rate decay: get_layer_depth on the backbones, and mmpretrain's
LearningRateDecayOptimWrapperConstructor giving every parameter of a classifier and of a
detector the lr of its depth."""
import pytest
from mmengine.optim import build_optim_wrapper

from lavit_mm.models import LaViT
from tests.helpers import narrow_arch

RATE = 0.5


def test_depths_follow_the_blocks_through_the_stages():
    model = LaViT(arch=narrow_arch('sra'), drloc_weight=0.1)  # depths 2/3/3/2: 10 blocks
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


def _lrs(model, optim_wrapper):
    wrapper = build_optim_wrapper(model, optim_wrapper)
    return {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}


def _decay_wrapper(constructor):
    return dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                constructor=constructor, paramwise_cfg=dict(layer_decay_rate=RATE))


@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmdet'])
def test_the_decay_reaches_every_parameter(toolbox):
    """mmpretrain's constructor, on our classifier (mmpretrain's delegation) and on our
    RetinaNet (lavit_mm's): lr = base * rate ** (num - depth - 1), necks and heads at the
    base lr."""
    import mmpretrain.engine  # noqa: F401  (registers the constructor)
    from mmengine.registry import DefaultScope
    arch = narrow_arch('sra')
    backbone = dict(type='lavit_mm.LaViT', arch=arch, out_indices=(3, ) if toolbox ==
                    'mmpretrain' else (0, 1, 2, 3), drop_path_rate=0.)
    if toolbox == 'mmpretrain':
        import lavit_mm.models.cls  # noqa: F401
        from mmpretrain.registry import MODELS
        cfg = dict(type='lavit_mm.ImageClassifier', backbone=backbone,
                   neck=dict(type='GlobalAveragePooling'),
                   head=dict(type='LinearClsHead', num_classes=4, in_channels=64,
                             loss=dict(type='CrossEntropyLoss')))
    else:
        import lavit_mm.models.det  # noqa: F401
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
        register_all_modules()
        cfg = dict(type='lavit_mm.RetinaNet', backbone=backbone,
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
    with DefaultScope.overwrite_default_scope(toolbox):
        model = MODELS.build(cfg)
        model.init_weights()
        lrs = _lrs(model, _decay_wrapper('mmpretrain.LearningRateDecayOptimWrapperConstructor'))
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
