# LaViT-T on Fashion-MNIST with Shifted Patch Tokenization in the first patch embedding (the image
# and its four diagonal 1 px shifts, LayerNorm, linear).
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(spt=True)))
