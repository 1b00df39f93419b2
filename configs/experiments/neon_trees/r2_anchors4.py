# Recipe run 2: run 1 with mmdet's default anchors (octave_base_scale=4: 32-50 px at P3 for
# crowns of 13-57 px at 320 px) instead of 2 (16-25 px at P3).
_base_ = './r1_scale320.py'
model = dict(bbox_head=dict(anchor_generator=dict(octave_base_scale=4)))
