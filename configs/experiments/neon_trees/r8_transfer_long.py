# Recipe run 8: run 7 (scale jitter 0.75-1.33x then a 320 px crop: crowns at the other sites'
# sizes) at run 6's length (1500 iterations, validated every 300), with every other lever
# aimed at transfer at once, to learn whether any of them moves the validation plateau
# (0.15-0.16 mAP50 from iteration 600 on in run 6) before ablating them one by one:
# - grey images 20% of the time (mmcv RandomGrayscale, kept 3-channel): SOAP's trees are grey
#   dead snags, and a detector that needs green cannot find them;
# - the regularisation of ImageNet transformer recipes instead of the small weight decay that
#   suited 300 iterations: AdamW weight decay 0.05 and drop path 0.2.
_base_ = './r7_scale_jitter.py'
max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=300)
param_scheduler = [_base_.param_scheduler[0], dict(_base_.param_scheduler[1], end=max_iters)]

model = dict(backbone=dict(drop_path_rate=0.2))
train_pipeline = _base_.train_pipeline[:-1] + [  # before PackDetInputs
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True), _base_.train_pipeline[-1]]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
