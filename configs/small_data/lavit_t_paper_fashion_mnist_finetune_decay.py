# The same fine-tuning with layer-wise lr decay (mmpretrain's constructor, rate 0.75 over the
# 8 blocks: the first block at 0.75^8 = 0.10x the base lr, the last at 0.75x, the head 1x).
_base_ = './lavit_t_paper_fashion_mnist_finetune.py'
custom_imports = dict(imports=['lavit_mm.models.cls', 'mmpretrain.engine'],
                      allow_failed_imports=False)
optim_wrapper = dict(constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
                     paramwise_cfg=dict(layer_decay_rate=0.75))
