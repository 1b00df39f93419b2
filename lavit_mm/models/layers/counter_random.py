"""Counter-based random integers: a hash of (seed, position), in tensor ops only.

The auxiliary losses sample positions from the backbone's step counter (a buffer), so a
resumed run draws what the uninterrupted one would. Drawing them with a ``torch.Generator``
needs the counter as a Python int (``int(buffer)``: a device sync on CUDA, a graph break
under ``torch.compile``) and a CPU generator. Here the counter stays a tensor on the model's
device and the draw is a pure function of it: the same numbers on CPU and CUDA, eager and
compiled, with no sync.

The hash is PCG's output permutation (RXS-M-XS, 32 bits; O'Neill 2014) of an LCG step of
``seed * numel + i``; every intermediate fits in int64.
"""
from typing import Sequence, Union

import torch

_MASK32 = 0xFFFFFFFF
Seed = Union[int, torch.Tensor]  # an int64 scalar tensor in training (a step counter)


def as_seed(seed: Seed, device: torch.device) -> torch.Tensor:
    """A seed as the int64 scalar tensor the samplers take, on ``device`` (analysis tools
    pass Python ints; training passes the step counter, already a tensor)."""
    return torch.as_tensor(seed, dtype=torch.long, device=device)


def hash32(counter: torch.Tensor) -> torch.Tensor:
    """int64 tensor -> int64 tensor of well-mixed values in [0, 2^32), elementwise."""
    x = ((counter & _MASK32) * 747796405 + 2891336453) & _MASK32
    x = (((x >> ((x >> 28) + 4)) ^ x) * 277803737) & _MASK32
    return (x >> 22) ^ x


def counter_randint(seed: torch.Tensor, high: int, shape: Sequence[int]) -> torch.Tensor:
    """Integers in ``[0, high)`` of ``shape`` (int64, on ``seed``'s device), a function of
    the int64 scalar tensor ``seed`` only (modulo bias below 2^-32 * high)."""
    if high < 1:
        raise ValueError(f'counter_randint: high must be >= 1, got {high}')
    numel = 1
    for size in shape:
        numel *= size
    counters = seed.long() * numel + torch.arange(numel, device=seed.device)
    return (hash32(counters) % high).reshape(tuple(shape))
