# LaViT-T image classification trained from scratch on CPU on the embedded ImageNet-layout
# set (tools/make_synthetic_data.py --task cls writes data/synthetic_imagenet/), evaluated with
# mmpretrain's Accuracy. Derived from the ImageNet config: data root/classes, 64 px images,
# batch, schedule, and the small-data recipe's lessons for a 3-minute run
# (docs/experiments/fmnist_recipe.md): small batches at the recipe's lr per image (6e-4 at
# batch 32 -> 3e-4 at 16), no drop path, flips as the only augmentation (no random crops,
# RandAugment, erasing or mixup/cutmix).
_base_ = '../lavit_t_in1k.py'

data_root = 'data/synthetic_imagenet'
metainfo = dict(classes=('circle', 'square', 'star', 'triangle'))
max_epochs = 15

# the PVT v1-based LaViT-T (arch 'pvt1-tiny'), which its recorded runs used
model = dict(backbone=dict(arch='pvt1-tiny', drop_path_rate=0.0), head=dict(num_classes=4),
             train_cfg=dict(_delete_=True))
data_preprocessor = dict(num_classes=4)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=20, num_workers=1,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=1, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
