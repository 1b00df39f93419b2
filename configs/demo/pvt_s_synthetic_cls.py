# PVT-S (LaViT-S's baseline: same widths, zero LA layers, no cross-stage residual) on the
# embedded ImageNet-layout set, same recipe as lavit_s_synthetic_cls.py; for the attention
# analysis of docs/attention_analysis.md.
_base_ = './lavit_t_synthetic_cls.py'

model = dict(backbone=dict(_delete_=True, type='lavit_mm.PVT', arch='small',
                           out_indices=(3, ), drop_path_rate=0.0, norm_after_stage=(3, )))
