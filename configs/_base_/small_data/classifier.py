# The small-data classification recipe (Fashion-MNIST, CIFAR-10/100 at 32 px), chosen by the
# recorded runs in docs/experiments/fmnist_recipe.md: an mmpretrain ImageClassifier (GAP +
# linear head), AdamW lr 6e-4 at batch 32 (lr linear in the batch: --auto-scale-lr), weight
# decay 0.05 (none on norms, biases, position/bias tables, LA transforms, re-attention head
# mixes, LSA temperatures), a linear warm-up over the first fifth of an epoch then cosine to
# 1e-5, label smoothing 0.1, gradient clipping at 5, no drop path (the backbone files set 0).
# Small batches for many optimizer steps, light regularisation: on 5,000 Fashion-MNIST images
# for 5 epochs LaViT-T reaches 83.9 top-1 where the first recipe (batch 128, drop path 0.1,
# random crops) stopped at 72.8. Each backbone file (./lavit_t.py, ...) adds the backbone; each dataset file the data
# and its augmentation (Fashion-MNIST: flips only; CIFAR: crops and flips).
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['lavit_mm.models.cls'], allow_failed_imports=False)

max_epochs = 10
model = dict(
    type='lavit_mm.ImageClassifier',  # mmpretrain's ImageClassifier + the backbone's loss_dp
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.)
    ])

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=6e-4, weight_decay=0.05, betas=(0.9, 0.999)),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'theta': dict(decay_mult=0.),
            'psi': dict(decay_mult=0.),
            'head_mix': dict(decay_mult=0.),
            'reattention': dict(decay_mult=0.),  # identity-init head mix (DeepViT)
            'temperature': dict(decay_mult=0.),  # LSA's softmax temperature
        }))
warmup_epochs = 0.2  # a fifth of an epoch: 31 steps on 5,000 images, 375 on 60,000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0)
