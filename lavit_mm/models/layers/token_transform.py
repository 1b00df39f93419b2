"""Theta/Psi of a Less-Attention layer for token grids of any size.

The paper's Theta/Psi are dense ``N x N`` maps along one token axis of the attention matrix,
which cannot serve detection inputs of varying size. Ours (docs/design.md) is a
translation-equivariant linear map over that axis's 2-D token grid: a per-head ``k x k``
depthwise convolution with zero padding, initialised to the identity so that a fresh LA layer
reproduces the attention it receives (``la_init='identity'``), or as PyTorch initialises such
a convolution (``la_init='linear'``). The paper's dense form: ``dense_transform.py``.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention_state import grid_to_tokens, tokens_to_grid
from .dense_transform import LA_INITS, TransformOptions


class TokenGridTransform(nn.Module):
    """A per-head k x k linear map over a token grid, applied to per-head features.

    Applied to ``q`` it is Psi (query axis of the logits); applied to ``k`` it is Theta (key
    axis). The same weight acts on every feature channel of a head, which is what makes the
    transform of ``q``/``k`` equal to the transform of the logits ``q k^T``.
    """

    def __init__(self, num_heads: int, kernel_size: int = TransformOptions.la_kernel_size,
                 init: str = 'identity'):
        super().__init__()
        if init not in LA_INITS:
            raise ValueError(f'la_init must be one of {LA_INITS}, got {init!r}')
        self.num_heads = num_heads
        self.kernel_size = kernel_size
        self.init = init
        self.weight = nn.Parameter(torch.empty(num_heads, 1, kernel_size, kernel_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """'identity': a one at the kernel centre, zeros elsewhere; 'linear': ``nn.Conv2d``'s
        default for this (depthwise) kernel, uniform in +-1/k."""
        if self.init == 'linear':
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            return
        with torch.no_grad():
            self.weight.zero_()
            self.weight[:, :, self.kernel_size // 2, self.kernel_size // 2] = 1.

    def forward(self, t: torch.Tensor, hw: Tuple[int, int], stride: int = 1) -> torch.Tensor:
        """t: (B, h, H*W, d) -> (B, h, H'*W', d), H' = ceil(H / stride). With a stride the
        map goes to a coarser grid (same weights; kernel centre on every stride-th token)."""
        # heads and width as ints: a trace (ONNX export) reads sizes as traced values, and the
        # conv below needs a kernel of known shape; they are fixed by the arch anyway
        h, d = int(t.shape[1]), int(t.shape[3])
        grid = tokens_to_grid(t, hw)  # (B, h*d, H, W), channels-last: no copy
        weight = self.weight.to(t.dtype).repeat_interleave(d, dim=0)  # (h*d, 1, k, k)
        grid = F.conv2d(grid, weight, stride=stride, padding=self.kernel_size // 2,
                        groups=h * d)  # (B, h*d, H', W')
        return grid_to_tokens(grid, h)  # (B, h, H'*W', d)

    def extra_repr(self) -> str:
        return f'num_heads={self.num_heads}, kernel_size={self.kernel_size}, init={self.init!r}'
