# The paper-sized LaViT-T (tiny-32px) with our local Theta/Psi and the DP loss off: the control row
# of the Less-Attention forms experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../lavit_t_paper_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(dp_loss=dict(weight=0.))))
