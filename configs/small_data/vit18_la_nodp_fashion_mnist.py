# The 14 VA + 4 LA ViT-18 with the DP loss off: the control for the LA layers' uniform
# attention in the collapse experiment (docs/results.md): does the loss drive them there?
_base_ = './vit18_la_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(dp_loss=dict(weight=0.))))
