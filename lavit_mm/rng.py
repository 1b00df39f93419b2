"""Library calls that need seeded randomness (a reproducible initialisation for export or
benchmarks) without touching the caller's: torch's global random state is forked for the
call and restored after it, as ``torch.random.fork_rng`` does."""
import functools
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import torch

F = TypeVar('F', bound=Callable)


def _cuda_devices() -> list:
    """The CUDA devices whose generators a call may advance (initialised ones only: seeding
    an uninitialised device would queue a seed for the process's later CUDA use)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return list(range(torch.cuda.device_count()))
    return []


def _forked():
    """torch's CPU and initialised CUDA generators, restored on leaving the block."""
    return torch.random.fork_rng(devices=_cuda_devices())


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """The block runs with torch's CPU (and initialised CUDA) generators seeded with
    ``seed``; the caller's random state is restored after it."""
    with _forked():
        torch.default_generator.manual_seed(seed)
        for d in _cuda_devices():
            torch.cuda.default_generators[d].manual_seed(seed)
        yield


def keeps_global_rng(fn: F) -> F:
    """Decorator: ``fn`` may seed and draw from torch's global generators; its caller's
    random state is as before the call."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _forked():
            return fn(*args, **kwargs)
    return wrapper
