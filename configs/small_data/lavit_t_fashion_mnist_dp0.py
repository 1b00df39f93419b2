# LaViT-T on Fashion-MNIST without the DP loss (ablation of the default weight 1.0).
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(dp_loss=dict(weight=0.))))
