"""The one type alias for sizes: ``HW``, the (height, width) of an image or a token grid,
and its spelling on command lines."""
from typing import Tuple

HW = Tuple[int, int]


def parse_shape(name: str) -> HW:
    """'224' -> (224, 224); '800x1333' -> (800, 1333): height x width."""
    try:
        sizes = [int(v) for v in name.lower().split('x')]
    except ValueError:
        sizes = []
    if len(sizes) not in (1, 2) or min(sizes) < 1:
        raise ValueError(f'input shape {name!r} is not N or HxW (e.g. 800x1333)')
    return (sizes[0], sizes[-1])
