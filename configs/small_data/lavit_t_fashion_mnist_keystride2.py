# LaViT-T on Fashion-MNIST with its LA layers on a 2x coarser key grid (less_attention.key_stride=2; the
# cheaper option of docs/performance.md): does it keep quality on real images?
_base_ = './lavit_t_fashion_mnist.py'
model = dict(backbone=dict(less_attention=dict(key_stride=2)))
