# mmdet's own Swin-T RetinaNet config, with our Swin in place of mmdet's: only the backbone's
# type changes (mmdet's keywords name Swin-T; the official release is converted on load).
_base_ = 'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py'
model = dict(backbone=dict(type='lavit_mm.Swin'))
