# mmpretrain ImageNet-1k pretraining with the DeiT/Swin recipe: 224 px, RandAugment, random
# erasing, mixup 0.8 / cutmix 1.0, label smoothing 0.1, AdamW lr 1e-3 at batch 1024 (16 GPUs x
# 64), weight decay 0.05 without decay on norms, biases, position and bias tables (and on the
# LA transforms), 20 warm-up epochs then cosine to 300 epochs, gradient clipping at 5.
# Data: data/imagenet/{train,val,meta}. Each config adds the backbone and the head's
# in_channels.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        init_cfg=None,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        cal_acc=False),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.)
    ],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'relative_position_bias_table': dict(decay_mult=0.),
        'theta': dict(decay_mult=0.),
        'psi': dict(decay_mult=0.),
        'head_mix': dict(decay_mult=0.),
    }))
