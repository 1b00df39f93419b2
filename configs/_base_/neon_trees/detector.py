# RetinaNet + FPN on the aerial tree-crown set (python tools/prepare_neon_trees.py writes
# data/neon_trees/: 400x400 tiles of a NEON image from Yellowstone for training, one image
# each from OSBS and SOAP for validation), mmdet's stock CocoDataset and CocoMetric. Trained
# from scratch on CPU. The recipe was chosen by the recorded runs of
# docs/experiments/neon_recipe.md (configs/experiments/neon_trees/): images at 320 px (run 1),
# flips in every direction (aerial images have no "up"), colour augmentation for the other
# sites (run 3), anchors from 16 px for 10-60 px crowns, FPN/head 128 channels with 2 convs,
# AdamW lr 4e-4, 300 iterations of batch 4.
# Each file in configs/neon_trees/ sets the backbone and the FPN's in_channels.
_base_ = '../retinanet_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm.models.det'], allow_failed_imports=False)

data_root = 'data/neon_trees/'
metainfo = dict(classes=('tree', ), palette=[(0, 200, 0)])
image_scale = (320, 320)
max_iters = 300

model = dict(
    type='lavit_mm.RetinaNet',  # mmdet's RetinaNet + loss_dp of LaViT backbones
    neck=dict(out_channels=128),
    bbox_head=dict(num_classes=1, in_channels=128, feat_channels=128, stacked_convs=2,
                   anchor_generator=dict(octave_base_scale=2)),
    test_cfg=dict(max_per_img=300))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
                 ann_file='annotations/train.json', data_prefix=dict(img='train/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=4)))
val_dataloader = dict(
    batch_size=2, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline,
                 ann_file='annotations/val.json', data_prefix=dict(img='val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json', metric='bbox')
test_evaluator = val_evaluator

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=4e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'theta': dict(decay_mult=0.),
            'psi': dict(decay_mult=0.),
            'head_mix': dict(decay_mult=0.),
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=4e-6),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=20)
randomness = dict(seed=0)
