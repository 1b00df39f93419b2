# LaViT-T on Fashion-MNIST with the DRLoc auxiliary loss on the last stage's map (weight 0.1, 64
# pairs per image; the paper's usual weight).
# A small-data remedy measured in docs/experiments/fmnist_v1.md ("Small-data remedies").
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(remedies=dict(drloc_weight=0.1)))
