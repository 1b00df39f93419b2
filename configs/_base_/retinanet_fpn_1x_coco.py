# mmdet's RetinaNet + FPN, COCO 2017 detection data, 1x schedule and runtime: what every
# RetinaNet config here starts from (each replaces the backbone and the optimizer).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
