# The ViT-18 (14 VA + 4 LA) with the paper's dense Theta/Psi, la_init='identity', the DP loss off:
# a row of the Less-Attention forms experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../vit18_la_fashion_mnist.py'
model = dict(backbone=dict(la_transform='dense', la_init='identity', dp_loss_weight=0.))
