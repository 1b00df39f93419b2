# RetinaNet + FPN with LaViT on Swin-T windows (stage 1 all VA; stages 2-4 ceil(L/2) VA then
# LA on the same window partitions), COCO 2017 1x, the Swin recipe of retinanet_swin_t.py.
_base_ = './retinanet_swin_t.py'
custom_imports = dict(imports=['lavit_mm.models.det'], allow_failed_imports=False)

model = dict(
    type='lavit_mm.RetinaNet',  # mmdet's RetinaNet + the backbone's `loss_dp`
    backbone=dict(_delete_=True, type='lavit_mm.LaViT', arch='tiny',
                  attention=dict(type='window', window_size=7), drop_path_rate=0.2,
                  out_indices=(1, 2, 3), init_cfg=None))

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={
        'relative_position_bias_table': dict(decay_mult=0.),
        'theta': dict(decay_mult=0.),
        'psi': dict(decay_mult=0.),
        'head_mix': dict(decay_mult=0.),
    }))
