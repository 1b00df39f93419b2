# LaViT-T on Fashion-MNIST with SPT and LSA together, as Lee et al. combine them.
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(spt=True, lsa=True)))
