# LaViT-T on Fashion-MNIST with Locality Self-Attention in every VA layer (learnable temperature,
# each query's own key cell masked).
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(lsa=True)))
