# mmdet's own PVT v2-b2 RetinaNet config, with our PVTv2 in place of mmdet's: only the
# backbone's type changes. mmdet's keywords (embed_dims=64, num_layers=[3, 4, 6, 3]) name
# PVT v2-b2, and the official release in init_cfg is converted while loading.
_base_ = 'mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py'
model = dict(backbone=dict(type='lavit_mm.PVTv2'))
