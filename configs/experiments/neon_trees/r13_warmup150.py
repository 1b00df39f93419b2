# Recipe run 13: the shipped recipe (retinanet_lavit_t_neon_trees.py, 50 warm-up iterations)
# with 150 warm-up iterations (half the run): from-scratch transformers at batch 4 are prone to
# early instability, which a longer warm-up damps.
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
param_scheduler = [dict(_base_.param_scheduler[0], end=150),
                   dict(_base_.param_scheduler[1], begin=150)]
