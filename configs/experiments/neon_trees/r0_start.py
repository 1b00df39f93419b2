# Recipe run 0 (docs/experiments/neon_recipe.md): the starting recipe, as it was before
# the runs below changed the base: 400 px, flips in every direction, anchors from 16 px
# (octave_base_scale=2), FPN/head 128 channels with 2 convs, AdamW lr 4e-4, 300 iterations of
# batch 4 (50 warm-up, then cosine).
_base_ = '../../neon_trees/retinanet_lavit_t_neon_trees.py'
image_scale = (400, 400)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs'),
]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]))
test_dataloader = val_dataloader
