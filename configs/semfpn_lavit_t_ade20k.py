# Semantic FPN + LaViT-T on ADE20K, 80k iterations, the PVT paper's recipe.
_base_ = './semfpn_lavit_s_ade20k.py'
model = dict(backbone=dict(arch='tiny'))
