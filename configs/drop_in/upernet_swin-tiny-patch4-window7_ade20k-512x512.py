# mmseg's own Swin-T UperNet config (ADE20K, 160k iterations), with our Swin in place of
# mmseg's: only the backbone's type changes (mmseg's keywords name Swin-T; its release is
# converted on load).
_base_ = ('mmseg::swin/'
          'swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py')
model = dict(backbone=dict(type='lavit_mm.Swin'))
