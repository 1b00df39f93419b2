# mmpretrain's stock ResNet-18 for 32 px images (ResNet_CIFAR: 3x3 stem at stride 1, no max
# pool) on Fashion-MNIST with the small-data recipe of the transformers (same optimizer,
# schedule, augmentation and budget): the CNN baseline of the small-data literature.
_base_ = ['../_base_/small_data/classifier.py', '../_base_/small_data/fashion_mnist.py']
model = dict(
    type='ImageClassifier',  # mmpretrain's own: the backbone has no auxiliary loss
    backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1, out_indices=(3, )),
    head=dict(in_channels=512))
