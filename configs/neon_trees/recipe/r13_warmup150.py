# Recipe run 13: the shipped recipe (retinanet_lavit_t_neon_trees.py, 50 warm-up iterations)
# with 150 warm-up iterations (half the run): from-scratch transformers at batch 4 are prone to
# early instability, which a longer warm-up damps.
_base_ = '../retinanet_lavit_t_neon_trees.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=150),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=150, end=300, eta_min=4e-6),
]
