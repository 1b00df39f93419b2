# LaViT-T at the paper's budget on Fashion-MNIST at 32 px, the small-data recipe
# (configs/_base_/small_data/).
_base_ = ['../_base_/small_data/lavit_t_paper.py', '../_base_/small_data/fashion_mnist.py']
model = dict(backbone=dict(in_channels=1))
