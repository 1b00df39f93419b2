# Fashion-MNIST (60,000 train / 10,000 test 28x28 grey images, 10 classes) through mmpretrain's
# stock FashionMNIST dataset, which reads the four extracted IDX files from data_root. Put
# them there with `python tools/prepare_fashion_mnist.py` (README, "Datasets"). Images are
# resized to 32 px (the -32px presets' size); download=False: the nodes are offline, and a
# missing file fails with the prepare command instead of a download attempt. Augmentation:
# horizontal flips only: random crops (4 px padding) and drop path together cost 8.3 points
# at 5 epochs on 5,000 images (docs/experiments/fmnist_recipe.md, r3 vs r4); the garments
# are centred.
data_root = 'data/fashion-mnist'
data_preprocessor = dict(num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)
train_pipeline = [
    dict(type='Resize', scale=(32, 32)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=(32, 32)),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='train', download=False,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='test', test_mode=True,
                 download=False, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
