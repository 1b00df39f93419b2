# LaViT-T on Fashion-MNIST with DeepViT re-attention in every VA layer (identity-init head mix of
# the probabilities, then BatchNorm across heads).
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(reattention=True)))
