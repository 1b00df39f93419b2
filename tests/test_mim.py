"""openmim's commands, as OpenMMLab users run every toolbox: `mim list` shows the plugin and
`mim train` / `mim test` / `mim run` find our configs and tools (lavit_mm/.mim, which
scripts/setup.sh links into site-packages for the editable install; a wheel holds copies)."""
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import local_data_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM = osp.join(osp.dirname(sys.executable), 'mim')
pytestmark = pytest.mark.slow


def _mim(*args, cwd=None) -> str:
    env = dict(os.environ, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1')  # our own checkpoints
    done = subprocess.run([MIM, *args], capture_output=True, text=True, cwd=cwd, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_mim_list_shows_the_plugin(tmp_path):
    rows = [line.split() for line in _mim('list', cwd=tmp_path).splitlines()]
    assert ['lavit-mm', '0.1.0'] in [r[:2] for r in rows]


def test_mim_train_test_and_run(imagenet_root, tmp_path):
    """Run from another folder: mim resolves the config by name inside lavit_mm/.mim."""
    opts = [f'{k}={v}' for k, v in local_data_options(imagenet_root).items()]
    opts += ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
             'default_hooks.checkpoint.interval=1']
    work = str(tmp_path / 'run')
    out = _mim('train', 'lavit_mm', 'lavit_t_synthetic_cls.py', '--work-dir', work,
               '--cfg-options', *opts, cwd=tmp_path)
    assert 'will use ' + osp.join(ROOT, 'configs', 'demo', 'lavit_t_synthetic_cls.py') in out
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    out = _mim('test', 'lavit_mm', 'lavit_t_synthetic_cls.py', '--checkpoint',
               osp.join(work, 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
               '--cfg-options', *opts, cwd=tmp_path)
    assert 'accuracy/top1' in out
    out = _mim('run', 'lavit_mm', 'benchmark', '--list', cwd=tmp_path)
    assert 'lavit_t' in out.split()


def test_a_wheel_carries_configs_and_tools(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                    '-q', ROOT, '-w', str(tmp_path)], check=True, capture_output=True)
    wheel, = [f for f in os.listdir(tmp_path) if f.endswith('.whl')]
    names = set(zipfile.ZipFile(tmp_path / wheel).namelist())
    configs = {n for n in names if n.startswith('lavit_mm/.mim/configs/')}
    assert 'lavit_mm/.mim/tools/train.py' in names and 'lavit_mm/.mim/model-index.yml' in names
    every = {osp.relpath(osp.join(d, f), ROOT) for d, _, fs in os.walk(
        osp.join(ROOT, 'configs')) for f in fs if f.endswith('.py')}
    # every user-facing config; the recipe searches' configs stay in the repository
    experiments = {c for c in every if c.startswith('configs/experiments/')}
    assert experiments
    assert {n[len('lavit_mm/.mim/'):] for n in configs} == every - experiments
