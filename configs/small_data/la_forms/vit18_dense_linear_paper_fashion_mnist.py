# The ViT-18 (14 VA + 4 LA) with the paper's dense Theta/Psi, init='linear', the DP loss as
# printed: a row of the Less-Attention forms experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../vit18_la_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(
    transform='dense', init='linear', dp_loss=dict(form='paper'))))
