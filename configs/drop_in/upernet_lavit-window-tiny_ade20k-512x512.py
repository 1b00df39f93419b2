# mmseg's own Swin-T UperNet config with LaViT's window preset on Swin-T's widths (the first
# half of each later stage VA): the backbone's type, attention and arch change, and the
# segmentor is ours (mmseg's EncoderDecoder plus the backbone's DP loss). The Swin-T release
# in init_cfg is converted on load; the LA layers' Theta/Psi start fresh.
_base_ = ('mmseg::swin/'
          'swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py')
custom_imports = dict(imports=['lavit_mm.models.seg'], allow_failed_imports=False)
model = dict(type='lavit_mm.EncoderDecoder',
             backbone=dict(type='lavit_mm.LaViT', attention='window', arch='tiny'))
