# The paper-sized LaViT-T (tiny-32px) with the paper's dense Theta/Psi, init='linear', the DP
# loss off: a row of the Less-Attention forms experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../lavit_t_paper_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(
    transform='dense', map_size=32, init='linear', dp_loss=dict(weight=0.))))
