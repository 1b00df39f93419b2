# The 18-layer ViT with DeepViT's re-attention in every layer (a learnable, identity-initialised
# mix of the heads' attention maps, then BatchNorm across heads), on Fashion-MNIST: DeepViT's
# remedy for attention collapse, beside LaViT's.
_base_ = './vit18_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(reattention=True)))
