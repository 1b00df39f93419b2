"""The one type alias for sizes: ``HW``, the (height, width) of an image or a token grid."""
from typing import Tuple

HW = Tuple[int, int]
