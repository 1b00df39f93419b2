# CIFAR-10 (50,000 train / 10,000 test 32x32 colour images, 10 classes) through mmpretrain's
# stock CIFAR10 dataset: data_root holds the extracted python version
# (cifar-10-batches-py/ for CIFAR-10, cifar-100-python/ for CIFAR-100). download=False: a
# missing folder fails with what to put where instead of a download attempt.
data_root = 'data/cifar10'
data_preprocessor = dict(num_classes=10, mean=[125.307, 122.961, 113.8575],
                         std=[51.5865, 50.847, 51.255], to_rgb=False)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CIFAR10', data_root=data_root, split='train', download=False,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CIFAR10', data_root=data_root, split='test', test_mode=True,
                 download=False, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
