# The paper-sized LaViT-T (tiny-32px) with our local Theta/Psi, identity init and our DP loss
# (the shipped form, configs/small_data/lavit_t_paper_fashion_mnist.py): a row of the
# Less-Attention forms experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../lavit_t_paper_fashion_mnist.py'
