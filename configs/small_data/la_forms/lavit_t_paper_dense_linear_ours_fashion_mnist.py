# The paper-sized LaViT-T (tiny-32px) with the paper's dense Theta/Psi, la_init='linear', our DP
# loss (the default form): a row of the Less-Attention forms experiment (docs/results.md, 'Less-
# Attention forms').
_base_ = '../lavit_t_paper_fashion_mnist.py'
model = dict(backbone=dict(la_transform='dense', la_map_size=32, la_init='linear', dp_form='ours'))
