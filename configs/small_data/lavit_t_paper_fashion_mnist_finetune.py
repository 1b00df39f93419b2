# Fine-tuning a trained paper-sized LaViT-T (pass its checkpoint: --cfg-options load_from=...)
# on the next 5,000 Fashion-MNIST training images (5,000-9,999: images the checkpoint did not
# see) for one epoch at half the recipe's lr, all layers at that lr. The baseline of
# ..._finetune_decay.py (docs/results.md, "Fine-tuning with layer-wise lr decay").
_base_ = './lavit_t_paper_fashion_mnist.py'
train_dataloader = dict(dataset=dict(indices=list(range(5000, 10000))))
optim_wrapper = dict(optimizer=dict(lr=3e-4))
max_epochs = 1
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, end=0.2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0.2, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
