# Recipe run 3: run 2 plus GroupNorm in the RetinaNet head's convs (from-scratch detectors
# train faster with normalised heads; the FPN stays as mmdet's).
_base_ = './r2_photometric.py'
model = dict(bbox_head=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
