# Recipe run 7: the shipped recipe (retinanet_lavit_t_neon_trees.py) + scale jitter: each
# training tile resized to 0.75-1.33x of 320 px, then a 320 px crop (boxes clipped), so crowns
# are seen at the sizes of the other sites and beyond. Run 6 showed the gap to the validation
# sites is transfer, not schedule length; this is the first transfer-aimed lever (one seed).
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(320, 320), ratio_range=(0.75, 1.33), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(320, 320)),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
