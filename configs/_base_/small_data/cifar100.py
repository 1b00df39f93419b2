# CIFAR-100 (50,000 train / 10,000 test 32x32 colour images, 100 classes) through mmpretrain's
# stock CIFAR100 dataset: data_root holds the extracted python version (cifar-100-python/).
# Everything else as CIFAR-10 (./cifar10.py).
_base_ = './cifar10.py'
data_root = 'data/cifar100'
data_preprocessor = dict(num_classes=100)
train_dataloader = dict(dataset=dict(type='CIFAR100', data_root=data_root))
val_dataloader = dict(dataset=dict(type='CIFAR100', data_root=data_root))
test_dataloader = val_dataloader
