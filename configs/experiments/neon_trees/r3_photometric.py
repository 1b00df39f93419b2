# Recipe run 3: run 1 plus colour augmentation (mmdet's PhotoMetricDistortion: brightness,
# contrast, saturation, hue): the validation images come from two other sites (Florida,
# California) with other light and vegetation colours than the training site (Wyoming).
_base_ = './r1_scale320.py'
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.image_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]))
