# The 18-layer ViT with the paper's 14 VA + 4 LA layers (the last four reuse and transform the
# attention of layer 14), on Fashion-MNIST; the DP loss at its default weight.
_base_ = './vit18_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(layers='14va+4la')))
