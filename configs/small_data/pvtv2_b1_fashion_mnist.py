# PVTv2-b1 on Fashion-MNIST at 32 px, the small-data recipe (configs/_base_/small_data/).
_base_ = ['../_base_/small_data/pvtv2_b1.py', '../_base_/small_data/fashion_mnist.py']
model = dict(backbone=dict(in_channels=1))
