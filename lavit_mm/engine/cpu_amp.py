"""Mixed precision on CPU: mmengine's AmpOptimWrapper refuses to run without a GPU.

``type='lavit_mm.CPUAmpOptimWrapper'`` runs the forward (and so the loss) under bf16
autocast and keeps fp32 weights, gradients and optimizer state. bf16 has fp32's exponent
range, so no loss scaling is needed. ``tools/train.py --amp`` picks it when there is no GPU
(fp16 with mmengine's AmpOptimWrapper and dynamic loss scaling otherwise).
"""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.config import Config
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


def use_amp_optim_wrapper(cfg: Config, cuda: bool, precision: Optional[str] = None) -> None:
    """Switches the config's optimizer wrapper to mixed precision. ``precision``: 'fp16' or
    'bf16' (None: fp16 on CUDA, bf16 on CPU). On CUDA mmengine's ``AmpOptimWrapper`` (fp16
    with dynamic loss scaling, or bf16); on CPU, where that wrapper refuses to run,
    ``lavit_mm.CPUAmpOptimWrapper`` in bf16 (no loss scaling; fp16 refused)."""
    precision = precision or ('fp16' if cuda else 'bf16')
    if precision not in ('fp16', 'bf16'):
        raise ValueError(f"mixed precision is 'fp16' or 'bf16', got {precision!r}")
    if cuda:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        if precision == 'fp16':
            cfg.optim_wrapper.loss_scale = 'dynamic'
        else:
            cfg.optim_wrapper.dtype = 'bfloat16'
    elif precision == 'bf16':
        cfg.optim_wrapper.type = 'lavit_mm.CPUAmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
    else:
        raise ValueError('fp16 training needs CUDA (mmengine refuses fp16 AMP on CPU); use '
                         'bf16 or fp32 on CPU')
