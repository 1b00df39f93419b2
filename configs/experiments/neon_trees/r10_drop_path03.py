# Recipe run 10: the shipped recipe (retinanet_lavit_t_neon_trees.py, drop path 0.1) with drop
# path 0.3: more regularisation for a detector that must transfer from one site.
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
model = dict(backbone=dict(drop_path_rate=0.3))
