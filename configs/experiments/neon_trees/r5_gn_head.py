# Recipe run 5: run 1 plus GroupNorm in the RetinaNet head's convs (from-scratch detectors
# train faster with normalised heads).
_base_ = './r1_scale320.py'
model = dict(bbox_head=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
