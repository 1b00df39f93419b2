# RetinaNet + FPN with a LaViT-S backbone, COCO 2017, 1x schedule (12 epochs), the AdamW recipe
# of PVT's RetinaNet (lr 1e-4, weight decay 1e-4, batch 16 = 8 GPUs x 2 images).
# Data: data/coco/{annotations,train2017,val2017}.  Train: python tools/train.py THIS_FILE
_base_ = './_base_/retinanet_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm.models.det'], allow_failed_imports=False)

model = dict(
    # mmdet's RetinaNet, plus the backbone's Diagonality Preserving loss as `loss_dp`
    type='lavit_mm.RetinaNet',
    backbone=dict(
        _delete_=True,
        type='lavit_mm.LaViT',
        arch='small',
        drop_path_rate=0.1,
        out_indices=(0, 1, 2, 3),
        # ImageNet weights from configs/lavit_*_in1k (or converted PVT weights):
        # init_cfg=dict(type='Pretrained', checkpoint='...', prefix='backbone.'),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 320, 512]))

# No weight decay on norms, position tables, and the LA transforms: decay would pull the
# identity-initialised Theta/Psi (and the head mixes) towards zero.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0001, weight_decay=0.0001),
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'theta': dict(decay_mult=0.),
            'psi': dict(decay_mult=0.),
            'head_mix': dict(decay_mult=0.),
        }))
