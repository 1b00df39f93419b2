# Recipe run 9: the shipped recipe (retinanet_lavit_t_neon_trees.py, drop path 0.1) without
# drop path: 64 tiles are few, but 300 iterations may be too short for stochastic depth to pay.
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
model = dict(backbone=dict(drop_path_rate=0.0))
