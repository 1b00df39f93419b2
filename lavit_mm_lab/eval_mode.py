"""Analysis never changes a model: it runs it in eval mode and hands it back as it came."""
from contextlib import contextmanager

import torch.nn as nn


@contextmanager
def eval_mode(model: nn.Module):
    """``model`` in eval mode inside the block; afterwards every module's own ``training``
    flag is what it was (set directly: a ``train()`` override, which may re-freeze stages,
    is not called)."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()  # (not chained: mmdet's SwinTransformer.train returns None)
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training
