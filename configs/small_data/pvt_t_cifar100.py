# PVT-T on CIFAR-100 at 32 px, the small-data recipe (configs/_base_/small_data/).
_base_ = ['../_base_/small_data/pvt_t.py', '../_base_/small_data/cifar100.py']
model = dict(head=dict(num_classes=100))
