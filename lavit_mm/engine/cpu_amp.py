"""Mixed precision on CPU: mmengine's AmpOptimWrapper refuses to run without a GPU.

``type='lavit_mm.CPUAmpOptimWrapper'`` runs the forward (and so the loss) under bf16
autocast and keeps fp32 weights, gradients and optimizer state. bf16 has fp32's exponent
range, so no loss scaling is needed. ``tools/train.py --amp`` picks it when there is no GPU
(fp16 with mmengine's AmpOptimWrapper and dynamic loss scaling otherwise).
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from lavit_mm.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
