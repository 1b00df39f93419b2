# The plain 18-layer ViT (all VA) on Fashion-MNIST at 32 px, the small-data recipe: the
# baseline of the attention-collapse experiment.
_base_ = ['../_base_/small_data/vit18.py', '../_base_/small_data/fashion_mnist.py']
model = dict(backbone=dict(in_channels=1))
