# LaViT-T on Fashion-MNIST without the DP loss (ablation of the default weight 1.0).
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(dp_loss_weight=0.))
