# PVT-T on CIFAR-10 at 32 px, the small-data recipe (configs/_base_/small_data/).
_base_ = ['../_base_/small_data/pvt_t.py', '../_base_/small_data/cifar10.py']
