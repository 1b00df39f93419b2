# Semantic FPN + LaViT-T trained from scratch on CPU on the embedded ADE20K-layout set
# (tools/make_synthetic_data.py --task seg writes data/synthetic_ade/), evaluated with mmseg's
# IoUMetric. Derived from the full ADE20K config: data root/classes, crop size, batch,
# schedule, and a CPU-sized FPN/head (128/64 channels instead of 256/128) change.
_base_ = '../semfpn_lavit_t_ade20k.py'

data_root = 'data/synthetic_ade'
# the set stores ground/circle/square/triangle/star under these ADE20K classes' ids
metainfo = dict(
    classes=('earth', 'ball', 'box', 'tent', 'flower'),
    palette=[(120, 120, 120), (220, 20, 60), (0, 160, 0), (0, 60, 220), (230, 200, 0)])
crop_size = (128, 128)
max_iters = 300

model = dict(
    backbone=dict(arch='pvt1-tiny'),  # the PVT v1-based LaViT-T its recorded runs used
    data_preprocessor=dict(size=crop_size),
    neck=dict(out_channels=128),
    decode_head=dict(in_channels=[128] * 4, channels=64, num_classes=5))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=30, end=max_iters, by_epoch=False),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=100, max_keep_ckpts=2),
    visualization=dict(draw=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
