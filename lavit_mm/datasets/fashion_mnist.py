"""Puts the Fashion-MNIST IDX files where mmpretrain's stock ``FashionMNIST`` dataset reads
them: the four extracted files (no ``.gz``) in one folder, its ``data_root``.

The gzipped files come from Debian's ``dataset-fashion-mnist`` package (installed under
``/usr/share/datasets/fashion-mnist``) or from any folder that holds the four ``.gz`` files
(or the extracted ones). Extracting needs no root; files already in place are checked and
kept, so the call is idempotent.
"""
import gzip
import os
import os.path as osp
import shutil
import struct
from typing import Dict, Optional, Sequence

DEBIAN_FOLDER = '/usr/share/datasets/fashion-mnist'
# extracted name -> (IDX magic number: 2051 images, 2049 labels)
FILES: Dict[str, int] = {
    'train-images-idx3-ubyte': 2051,
    'train-labels-idx1-ubyte': 2049,
    't10k-images-idx3-ubyte': 2051,
    't10k-labels-idx1-ubyte': 2049,
}
HOW_TO_GET = (
    'Get the four files one of these ways:\n'
    '  - as root: apt-get install dataset-fashion-mnist (Debian/Ubuntu; puts them in '
    f'{DEBIAN_FOLDER}), then run this again;\n'
    '  - anywhere: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, '
    't10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from the Fashion-MNIST project '
    '(github.com/zalandoresearch/fashion-mnist, folder data/fashion) into a folder DIR, then '
    'run: python tools/prepare_fashion_mnist.py --from DIR')


def idx_header(path: str) -> tuple:
    """(magic, item count) of an IDX file, gzipped or not."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        head = f.read(8)
    if len(head) < 8:
        raise ValueError(f'{path}: not an IDX file (shorter than its 8-byte header)')
    return struct.unpack('>II', head)


def _check_set(folder: str, suffix: str = '') -> None:
    """Raises ValueError unless ``folder`` holds four consistent IDX files."""
    counts = {}
    for name, magic in FILES.items():
        path = osp.join(folder, name + suffix)
        got, count = idx_header(path)
        if got != magic:
            raise ValueError(f'{path}: IDX magic {got}, expected {magic}: not a Fashion-MNIST '
                             f'{"image" if magic == 2051 else "label"} file')
        counts[name] = count
    for split in ('train', 't10k'):
        images, labels = counts[f'{split}-images-idx3-ubyte'], counts[f'{split}-labels-idx1-ubyte']
        if images != labels:
            raise ValueError(f'{folder}: {split} has {images} images but {labels} labels')


def find_source(folders: Sequence[str]) -> Optional[tuple]:
    """The first folder that holds the four files, gzipped ('.gz') or extracted ('')."""
    for folder in folders:
        for suffix in ('.gz', ''):
            if all(osp.isfile(osp.join(folder, n + suffix)) for n in FILES):
                return folder, suffix
    return None


def prepare_fashion_mnist(data_root: str = 'data/fashion-mnist',
                          sources: Sequence[str] = (DEBIAN_FOLDER, )) -> str:
    """Extracts the four Fashion-MNIST files from the first of ``sources`` that has them
    into ``data_root`` (each written to a temporary name, then renamed: an interrupted call
    leaves no half file). A complete, valid ``data_root`` is left as it is. Returns it.

    Raises FileNotFoundError naming the folders tried and how to get the files."""
    if all(osp.isfile(osp.join(data_root, n)) for n in FILES):
        _check_set(data_root)
        return data_root
    found = find_source(sources)
    if found is None:
        tried = ', '.join(sources) or '(none)'
        raise FileNotFoundError(
            f'Fashion-MNIST: none of the folders tried ({tried}) holds the four files '
            f'{", ".join(n + ".gz" for n in FILES)}.\n{HOW_TO_GET}')
    folder, suffix = found
    _check_set(folder, suffix)
    os.makedirs(data_root, exist_ok=True)
    for name in FILES:
        src, dst = osp.join(folder, name + suffix), osp.join(data_root, name)
        tmp = dst + '.part'
        opener = gzip.open if suffix else open
        with opener(src, 'rb') as fin, open(tmp, 'wb') as fout:
            shutil.copyfileobj(fin, fout)
        os.replace(tmp, dst)
    _check_set(data_root)
    return data_root


def export_test_images(data_root: str, out_dir: str, count: int) -> list:
    """The first ``count`` test images of a prepared ``data_root`` as 28x28 greyscale PNGs
    in ``out_dir`` (``{index:05d}_class{label}.png``), e.g. for tools/analyze_attention.py
    --images. Returns the written paths."""
    import numpy as np
    from PIL import Image
    _check_set(data_root)
    images = osp.join(data_root, 't10k-images-idx3-ubyte')
    labels = osp.join(data_root, 't10k-labels-idx1-ubyte')
    total = idx_header(images)[1]
    if not 0 < count <= total:
        raise ValueError(f'export count must be in [1, {total}], got {count}')
    with open(images, 'rb') as f:
        f.seek(16)
        pixels = np.frombuffer(f.read(count * 28 * 28), dtype=np.uint8).reshape(count, 28, 28)
    with open(labels, 'rb') as f:
        f.seek(8)
        classes = np.frombuffer(f.read(count), dtype=np.uint8)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for i, (image, label) in enumerate(zip(pixels, classes)):
        paths.append(osp.join(out_dir, f'{i:05d}_class{int(label)}.png'))
        Image.fromarray(image, mode='L').save(paths[-1])
    return paths
