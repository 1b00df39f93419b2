# mmseg's Semantic FPN (FPN neck + FPNHead) on ADE20K (data/ade/ADEChallengeData2016), 512x512
# crops, with the PVT paper's recipe: AdamW lr 1e-4, weight decay 1e-4, poly decay (power 0.9)
# to 0 over 80k iterations, batch 16 (4 GPUs x 4). Each config replaces the backbone.
_base_ = [
    'mmseg::_base_/models/fpn_r50.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained=None,  # mmseg's base names an ImageNet ResNet; our backbones use init_cfg
    decode_head=dict(num_classes=150))

# No weight decay on norms, position tables, LA transforms and head mixes (identity init).
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.0001),
    clip_grad=None,
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'theta': dict(decay_mult=0.),
            'psi': dict(decay_mult=0.),
            'head_mix': dict(decay_mult=0.),
        }))
# mmseg's base decays to eta_min=1e-4, which equals our lr: no decay at all. Decay to 0.
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=80000, by_epoch=False)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
