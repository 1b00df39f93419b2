# The LaViT of PVTv2-b1's widths (lavit_pvtv2_b1_fashion_mnist.py) started from a trained
# PVTv2-b1 classifier through init_cfg: the backbone converts the file on load (VA layers as
# they are, an LA layer the value projection), the head loads it as mmengine does. The same
# weights as tools/transplant_checkpoint.py writes. Name the (published) checkpoint with
#   --cfg-options model.backbone.init_cfg.checkpoint=F model.head.init_cfg.checkpoint=F
# tools/test.py without a checkpoint scores it untrained; tools/train.py fine-tunes it.
_base_ = './lavit_pvtv2_b1_fashion_mnist.py'
trained_pvtv2 = 'pvtv2_b1_fashion_mnist.pth'
model = dict(
    backbone=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=trained_pvtv2,
                                prefix='backbone.')),
    head=dict(init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=trained_pvtv2,
                            prefix='head.')))  # (the bases' init_cfg are None)
