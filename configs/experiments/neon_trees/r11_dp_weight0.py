# Recipe run 11: the shipped recipe (retinanet_lavit_t_neon_trees.py, DP-loss weight 1.0)
# without the Diagonality Preserving loss: does the auxiliary loss help or cost the detector?
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
model = dict(backbone=dict(less_attention=dict(dp_loss=dict(weight=0.0))))
