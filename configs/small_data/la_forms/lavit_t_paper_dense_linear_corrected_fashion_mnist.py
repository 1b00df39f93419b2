# The paper-sized LaViT-T (tiny-32px) with the paper's dense Theta/Psi, init='linear', the
# printed DP loss with the intended dominance sign, hinged: a row of the Less-Attention forms
# experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../lavit_t_paper_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(
    transform='dense', map_size=32, init='linear', dp_loss=dict(form='paper-corrected'))))
