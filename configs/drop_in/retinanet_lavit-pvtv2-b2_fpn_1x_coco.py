# mmdet's own PVT v2-b2 RetinaNet config with LaViT on PVT v2-b2's exact widths (stage 1 all
# VA, later stages a third VA): the backbone's type and arch change, and the detector is ours
# (mmdet's RetinaNet plus the backbone's DP loss, which mmdet's would leave uncollected). The
# release in init_cfg is converted on load; the LA layers' Theta/Psi start fresh.
_base_ = 'mmdet::pvt/retinanet_pvtv2-b2_fpn_1x_coco.py'
custom_imports = dict(imports=['lavit_mm.models.det'], allow_failed_imports=False)
model = dict(type='lavit_mm.RetinaNet', backbone=dict(type='lavit_mm.LaViT', arch='pvtv2-b2'))
