# Recipe run 12: the shipped recipe (retinanet_lavit_t_neon_trees.py, DP-loss weight 1.0) with
# DP-loss weight 0.3: the DP loss (0.55-0.77 over a shipped LaViT-T run) weighs about as much
# as the classification and box losses together (1.0 at the end); a smaller weight leaves the
# task more say.
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
model = dict(backbone=dict(less_attention=dict(dp_loss=dict(weight=0.3))))
