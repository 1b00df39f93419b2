"""Small pure helpers of scripts/setup.sh and scripts/make_wheelhouse.sh.

Kept in Python (not shell) so that tests/test_setup_offline.py can check them without
installing anything; only ``build_info`` (the ``info`` command) imports torch.

    python scripts/setup_helpers.py info                      # KEY ARCHS TORCH TORCHVISION
    python scripts/setup_helpers.py platforms manylinux_2_28_x86_64
"""
import os
import re
import sys

MANYLINUX_LEGACY = {'manylinux1': 5, 'manylinux2010': 12, 'manylinux2014': 17}


def arch_list(capabilities):
    """The TORCH_CUDA_ARCH_LIST entries ('8.0', '9.0') of the given (major, minor) device
    capabilities: one per distinct architecture, in ascending order."""
    return [f'{major}.{minor}' for major, minor in sorted(set(map(tuple, capabilities)))]


def parse_arch_list(value):
    """The entries of a user's TORCH_CUDA_ARCH_LIST ('8.0;9.0+PTX', '8.0 9.0'), in order."""
    return [a for a in re.split(r'[;\s]+', value.strip()) if a]


def cache_key(python_version, torch_version, cuda_version=None, archs=()):
    """The name under which setup.sh caches the compiled mmcv wheel.

    The CPU build (cuda_version None) keeps the key the set-up has always used,
    'py311-torch2.13.0+cu130-cpu', so existing caches are still found. A build with CUDA ops
    adds the CUDA version and the architectures it was compiled for, since a wheel built for
    one GPU generation does not run on another (a shared ~/.cache on a mixed cluster)."""
    base = f'py{python_version[0]}{python_version[1]}-torch{torch_version}'
    if cuda_version is None:
        return f'{base}-cpu'
    if not archs:
        raise ValueError('a CUDA build needs its architecture list')
    return f"{base}-{cuda_version}-arch{'_'.join(archs)}"


def cuda_build_plan(torch_cuda, cuda_available, capabilities, env_arch_list='',
                    force_cuda=False):
    """(cuda_version, archs) of the mmcv build, or (None, []) for the CPU-only ops.

    CUDA ops are built when the torch is a CUDA build and either a GPU is visible or
    FORCE_CUDA=1 (building on a login node without a GPU). The architectures are those of
    the visible devices unless TORCH_CUDA_ARCH_LIST is set, which then wins (one wheel for
    several GPU generations); without a device it is required."""
    if torch_cuda is None or not (cuda_available or force_cuda):
        return None, []
    archs = parse_arch_list(env_arch_list) if env_arch_list else arch_list(capabilities)
    if not archs:
        raise ValueError('FORCE_CUDA=1 without a visible GPU: set TORCH_CUDA_ARCH_LIST '
                         '(e.g. "8.0;9.0") to say which GPUs to build for')
    return torch_cuda, archs


def manylinux_platforms(platform):
    """All the platform tags a node of the given platform accepts, newest first, for
    `pip download --platform` (repeated): pip does not expand manylinux_2_X itself, and many
    wheels are tagged only with an older glibc (manylinux_2_17, manylinux2014, manylinux1).
    Other platforms (macosx, win, linux_x86_64) are returned as they are."""
    m = re.fullmatch(r'manylinux_2_(\d+)_(\w+)', platform)
    legacy = re.fullmatch(r'(manylinux1|manylinux2010|manylinux2014)_(\w+)', platform)
    if m:
        glibc, arch = int(m.group(1)), m.group(2)
    elif legacy:
        glibc, arch = MANYLINUX_LEGACY[legacy.group(1)], legacy.group(2)
    else:
        return [platform]
    tags = []
    for minor in range(glibc, 4, -1):
        tags.append(f'manylinux_2_{minor}_{arch}')
        tags += [f'{name}_{arch}' for name, m in MANYLINUX_LEGACY.items() if m == minor]
    return tags


def build_info():
    """What setup.sh needs from the environment's torch, on one line:
    KEY ARCHS TORCH_VERSION TORCHVISION_VERSION ('-' for none)."""
    from importlib import metadata

    import torch

    def dist_version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return '-'

    available = torch.cuda.is_available()
    caps = ([torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
            if available else [])
    cuda, archs = cuda_build_plan(torch.version.cuda, available, caps,
                                  os.environ.get('TORCH_CUDA_ARCH_LIST', ''),
                                  os.environ.get('FORCE_CUDA', '0') == '1')
    key = cache_key(sys.version_info[:2], torch.__version__, cuda, archs)
    return ' '.join([key, ';'.join(archs) or '-', dist_version('torch'),
                     dist_version('torchvision')])


def main(argv):
    if argv[:1] == ['info']:
        try:
            print(build_info())
        except ValueError as e:
            sys.exit(f'[setup] error: {e}')
    elif argv[:1] == ['platforms'] and len(argv) == 2:
        print(' '.join(manylinux_platforms(argv[1])))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
