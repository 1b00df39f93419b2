# Recipe run 4: run 3 with AdamW lr 1e-3 (was 4e-4) for batch 4.
_base_ = './r3_gn_head.py'
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=50, end=300, eta_min=1e-5),
]
