"""Dense Theta/Psi: the paper's Less-Attention transform, a learned map along one token axis.

The paper writes an LA layer's attention as ``softmax(Psi(Theta(A_{l-1})^T)^T) = softmax(Psi
A_{l-1} Theta^T)`` with dense maps Psi (along the queries) and Theta (along the keys) of the
inherited scores ``A_{l-1} = q k^T``. Since ``Psi (q k^T) Theta^T = (Psi q)(Theta k)^T``, the
maps act on the factors (``attention_state.py``), one ``(N_out, N_in)`` matrix per head.

A dense map is sized for one token grid (the layer's grid at a configured image size), plus
``prefix`` leading tokens off the grid (a plain ViT's class token). At another grid the grid
parts of both axes are resized bilinearly, as position tables are, and the grid columns are
scaled by ``N_in / N_in'`` so that a row keeps its sum (a resized identity stays close to an
identity); the prefix rows and columns are kept. The resized map costs
``heads * N_out' * N_in'`` floats per forward: at detection sizes that is the price of this
form (docs/design.md, "Less-Attention forms").
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn

from ...grid import HW
from .embed import resize_pos_embed
from .options import LESS_ATTENTION, OptionSet, option

LA_INITS = ('identity', 'linear')
LA_TRANSFORMS = ('local', 'dense')


@dataclass(frozen=True)
class TransformOptions(OptionSet):
    """The form of Theta/Psi, for the layers that offer both (``less_attention`` keys).

    Attributes:
        la_transform: 'local' (a per-head k x k map over the token grid, any input size) or
            'dense' (the paper's: per-head dense maps over the layer's tokens, sized for one
            grid and resized bilinearly at others).
        la_kernel_size: kernel of the 'local' Theta/Psi (odd).
    """
    la_transform: str = option('local', LA_TRANSFORMS, LESS_ATTENTION)
    la_kernel_size: int = option(3, 'odd_positive_int', LESS_ATTENTION)

    def check(self, owner, given):
        check_la_transform(owner, type(self), self.la_transform, given,
                           local_only=('la_kernel_size', ))
        super().check(owner, given)


def check_la_transform(owner: str, options, transform: str, given, local_only=(),
                       dense_only=()) -> None:
    """Refuses, by name, an option given (``given``: the field names the user set, of option
    set ``options``) of the form of Theta/Psi that ``transform`` does not use."""
    wrong, other = (local_only, 'local') if transform == 'dense' else (dense_only, 'dense')
    for name in wrong:
        if name in given:
            raise ValueError(f"{owner}: {options.spelling(name)} applies to transform="
                             f"'{other}' only, and less_attention.transform is {transform!r}: "
                             f"remove it, or set transform='{other}'")


def resize_token_axis(t: torch.Tensor, dim: int, prefix: int, src: HW, dst: HW) -> torch.Tensor:
    """``t`` with its axis ``dim`` (``prefix + src[0] * src[1]`` tokens) resized to
    ``prefix + dst[0] * dst[1]`` as a position table is (:func:`embed.resize_pos_embed`,
    bilinear): the grid part interpolated, the prefix entries as they are."""
    t = t.movedim(dim, -1)
    lead = t.shape[:-1]
    table = t.reshape(1, -1, t.shape[-1]).transpose(1, 2)  # (1, prefix + H*W, L)
    out = resize_pos_embed(table, src, dst, 'bilinear', prefix).transpose(1, 2)
    return out.reshape(*lead, out.shape[-1]).movedim(-1, dim)


class DenseTokenMap(nn.Module):
    """A per-head dense map along the token axis of per-head features (module docstring).

    Args:
        num_heads: one map per head.
        grid: the token grid the map is sized for (N = prefix + H * W on both axes).
        prefix: leading tokens off the grid.
        resizable: whether it meets other grids (resized to them); False for maps that are
            always applied on their own grid, as a window's.
        init: 'identity' (a fresh LA layer reproduces the attention it inherits) or 'linear'
            (PyTorch's ``nn.Linear`` default per head: uniform in +-1/sqrt(N)).
    """

    def __init__(self, num_heads: int, grid: HW, prefix: int = 0, init: str = 'identity',
                 resizable: bool = True):
        super().__init__()
        if init not in LA_INITS:
            raise ValueError(f'la_init must be one of {LA_INITS}, got {init!r}')
        self.num_heads, self.grid, self.prefix, self.init = num_heads, tuple(grid), prefix, init
        self.resizable = resizable  # False: always applied on its own grid (a window's tokens)
        n = prefix + grid[0] * grid[1]
        self.weight = nn.Parameter(torch.empty(num_heads, n, n))  # (h, N_out, N_in)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == 'identity':
                self.weight.copy_(torch.eye(self.weight.shape[-1]).expand_as(self.weight))
            else:
                bound = self.weight.shape[-1] ** -0.5
                self.weight.uniform_(-bound, bound)

    def matrix(self, grid: Optional[HW] = None) -> torch.Tensor:
        """The (h, N', N') map for token grid ``grid`` (None: its own)."""
        if grid is None or tuple(grid) == self.grid:
            return self.weight
        src, p = self.grid, self.prefix
        w = resize_token_axis(self.weight, 1, p, src, grid)  # output axis
        w = resize_token_axis(w, 2, p, src, grid)  # input axis
        scale = (src[0] * src[1]) / (grid[0] * grid[1])
        return torch.cat([w[..., :p], w[..., p:] * scale], dim=-1)

    def forward(self, t: torch.Tensor, grid: Optional[HW] = None, stride: int = 1):
        """t: (..., h, prefix + H*W, d) on ``grid`` -> the same shape, mapped. ``stride``: for
        the signature of the 'local' transform; a dense map takes 1 only."""
        if stride != 1:
            raise ValueError("a dense LA map takes no key stride (la_transform='dense' refuses "
                             "la_key_stride)")
        return self.matrix(grid).to(t.dtype) @ t

    def extra_repr(self) -> str:
        return (f'num_heads={self.num_heads}, grid={self.grid}, prefix={self.prefix}, '
                f'init={self.init!r}')
