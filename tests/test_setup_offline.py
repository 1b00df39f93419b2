"""The pure helpers of scripts/setup.sh and scripts/make_wheelhouse.sh (scripts/setup_helpers.py):
the mmcv cache key, the CUDA architecture list, the platform tags of a wheelhouse. Nothing here
downloads, installs or needs a GPU."""
import importlib.util
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELPERS = os.path.join(ROOT, 'scripts', 'setup_helpers.py')
_spec = importlib.util.spec_from_file_location('setup_helpers', HELPERS)
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def test_cpu_key_is_the_one_existing_caches_use():
    # setup.sh has always cached the CPU build under this name: it must still be found
    assert helpers.cache_key((3, 11), '2.13.0+cu130') == 'py311-torch2.13.0+cu130-cpu'


def test_cuda_key_holds_cuda_version_and_architectures():
    key = helpers.cache_key((3, 12), '2.5.1+cu121', '12.1', ['8.0', '9.0'])
    assert key == 'py312-torch2.5.1+cu121-12.1-arch8.0_9.0'
    # a wheel for one GPU generation is not reused for another
    assert key != helpers.cache_key((3, 12), '2.5.1+cu121', '12.1', ['9.0'])


def test_cuda_key_without_architectures_is_refused():
    with pytest.raises(ValueError):
        helpers.cache_key((3, 11), '2.5.1', '12.1', [])


def test_arch_list_one_entry_per_architecture_in_order():
    assert helpers.arch_list([(9, 0)]) == ['9.0']
    assert helpers.arch_list([(9, 0), (8, 0), (9, 0), (8, 6)]) == ['8.0', '8.6', '9.0']
    assert helpers.arch_list([]) == []


def test_parse_arch_list_accepts_semicolons_and_spaces():
    assert helpers.parse_arch_list('8.0;9.0+PTX') == ['8.0', '9.0+PTX']
    assert helpers.parse_arch_list(' 8.0 8.6 ') == ['8.0', '8.6']


def test_build_plan_cpu_cases():
    # no GPU, or a CPU build of torch: CPU ops only, whatever the device list says
    assert helpers.cuda_build_plan('13.0', False, []) == (None, [])
    assert helpers.cuda_build_plan(None, True, [(9, 0)]) == (None, [])


def test_build_plan_cuda_uses_the_visible_devices_or_the_users_list():
    assert helpers.cuda_build_plan('12.4', True, [(9, 0), (9, 0)]) == ('12.4', ['9.0'])
    assert helpers.cuda_build_plan('12.4', True, [(9, 0)], '8.0;9.0') == ('12.4', ['8.0', '9.0'])
    # FORCE_CUDA=1 on a login node without a GPU: only with an explicit list
    assert helpers.cuda_build_plan('12.4', False, [], '9.0', force_cuda=True) == ('12.4', ['9.0'])
    with pytest.raises(ValueError, match='TORCH_CUDA_ARCH_LIST'):
        helpers.cuda_build_plan('12.4', False, [], '', force_cuda=True)


def test_manylinux_platforms_include_older_glibc_and_legacy_names():
    tags = helpers.manylinux_platforms('manylinux_2_28_x86_64')
    assert tags[0] == 'manylinux_2_28_x86_64'
    for tag in ('manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64',
                'manylinux2010_x86_64', 'manylinux1_x86_64', 'manylinux_2_5_x86_64'):
        assert tag in tags
    assert 'manylinux_2_29_x86_64' not in tags
    assert len(tags) == len(set(tags))
    # newest first: pip prefers the earlier tags
    assert tags.index('manylinux_2_28_x86_64') < tags.index('manylinux2014_x86_64')


def test_manylinux_legacy_input_and_other_platforms():
    tags = helpers.manylinux_platforms('manylinux2014_aarch64')
    assert tags[:2] == ['manylinux_2_17_aarch64', 'manylinux2014_aarch64']
    assert 'manylinux_2_18_aarch64' not in tags
    assert helpers.manylinux_platforms('win_amd64') == ['win_amd64']
    assert helpers.manylinux_platforms('linux_x86_64') == ['linux_x86_64']


def test_command_line_platforms_and_usage():
    out = subprocess.run([sys.executable, HELPERS, 'platforms', 'manylinux_2_17_x86_64'],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == helpers.manylinux_platforms('manylinux_2_17_x86_64')
    bad = subprocess.run([sys.executable, HELPERS, 'nonsense'], capture_output=True, text=True)
    assert bad.returncode != 0
