# Recipe run 4: run 1 with AdamW lr 1e-3 (was 4e-4) for batch 4: run 0's loss still fell at
# its last iteration.
_base_ = './r1_scale320.py'
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=300, eta_min=1e-5),
]
