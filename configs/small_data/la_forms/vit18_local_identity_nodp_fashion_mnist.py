# The ViT-18 (14 VA + 4 LA) with our local Theta/Psi, identity init and the DP loss off
# (configs/small_data/vit18_la_nodp_fashion_mnist.py): a row of the Less-Attention forms
# experiment (docs/results.md, 'Less-Attention forms').
_base_ = '../vit18_la_nodp_fashion_mnist.py'
