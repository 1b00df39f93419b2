"""Idempotent dataset writing: a set is written once per set of arguments."""
import os
import os.path as osp
from typing import Callable


def write_once(root: str, key: str, write: Callable[[], None], force: bool = False) -> str:
    """Runs ``write()`` unless ``root`` already holds a complete set written with the same
    ``key`` (recorded in ``root/.complete`` after a successful write). Returns ``root``."""
    done = osp.join(root, '.complete')
    if not force and osp.exists(done) and open(done).read() == key:
        return root
    write()
    os.makedirs(root, exist_ok=True)
    with open(done, 'w') as f:
        f.write(key)
    return root
