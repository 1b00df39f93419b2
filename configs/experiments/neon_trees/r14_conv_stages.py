# Recipe run 14: the shipped recipe (retinanet_lavit_t_neon_trees.py) with LaViT-T's first two
# stages as convolution (MBConv) stages, CoAtNet's layout (stage_types conv, conv, attn, attn):
# on 5,000 Fashion-MNIST images it was the one small-data remedy that lifted top-1 (77.78 ±
# 0.38 against 72.20 ± 1.21, docs/experiments/fmnist_v1.md); convolution's locality is a prior that a
# from-scratch detector trained on one site may transfer with.
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
model = dict(backbone=dict(remedies=dict(stage_types=('conv', 'conv', 'attn', 'attn'))))
