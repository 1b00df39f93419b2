# Recipe run 8: run 6's length (1500 iterations, validated every 300) with every lever aimed at
# transfer to other sites at once, to learn whether any of them moves the validation plateau
# (0.15-0.16 mAP50 from iteration 600 on in run 6) before ablating them one by one:
# - scale jitter 0.75-1.33x then a 320 px crop (run 7): crowns at the other sites' sizes;
# - grey images 20% of the time (mmcv RandomGrayscale, kept 3-channel): SOAP's trees are grey
#   dead snags, and a detector that needs green cannot find them;
# - the regularisation of ImageNet transformer recipes instead of the small weight decay that
#   suited 300 iterations: AdamW weight decay 0.05 and drop path 0.2.
_base_ = './r6_long1500.py'
model = dict(backbone=dict(drop_path_rate=0.2))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(320, 320), ratio_range=(0.75, 1.33), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(320, 320)),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
