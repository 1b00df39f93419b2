# The README's demo: RetinaNet + FPN + LaViT-T trained from scratch on CPU on the embedded
# synthetic COCO-layout set (tools/make_synthetic_data.py writes it to data/synthetic_coco/),
# evaluated with mmdet's CocoMetric (pycocotools). Derived from the full COCO config: the data
# root/metainfo, image size, batch and schedule change, and the FPN/head are CPU-sized
# (128 channels, 2 stacked convs instead of 256 and 4: the full head is 2/3 of a step here).
_base_ = '../retinanet_lavit_t.py'

data_root = 'data/synthetic_coco/'
metainfo = dict(
    classes=('circle', 'square', 'triangle', 'star'),
    palette=[(220, 20, 60), (0, 160, 0), (0, 60, 220), (230, 200, 0)])
image_scale = (256, 256)
max_iters = 300

model = dict(
    backbone=dict(arch='pvt1-tiny'),  # the PVT v1-based LaViT-T its recorded runs used
    neck=dict(out_channels=128),
    bbox_head=dict(num_classes=4, in_channels=128, feat_channels=128, stacked_convs=2))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
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
    batch_size=4, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
                 filter_cfg=dict(filter_empty_gt=True, min_size=4)))
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator

# evaluated every 100 iterations, so that curves.png shows the metric rise (24 images: seconds)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=100)
optim_wrapper = dict(optimizer=dict(lr=4e-4), clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=max_iters, eta_min=4e-6),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=100, max_keep_ckpts=2),
    visualization=dict(draw=False))
log_processor = dict(by_epoch=False, window_size=20)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
