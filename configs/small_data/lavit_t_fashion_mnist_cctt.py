# LaViT-T on Fashion-MNIST with CoAtNet's C-C-T-T layout (MBConv stages 1-2, attention stages 3-4;
# same widths and strides).
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(stage_types=('conv', 'conv', 'attn', 'attn'))))
