"""Library calls leave the process as they found it: torch's random state and the environment
are the same after the export, benchmark and inference helpers (each seeds its own models'
initialisation), and the tools' full-unpickling switch holds only inside its block."""
import os
import os.path as osp

import pytest
import torch

from lavit_mm_lab.benchmark import run_benchmark
from lavit_mm.apis import build_inferencer, full_checkpoint_unpickling
from lavit_mm.apis.export import build_target
from lavit_mm.rng import seeded
from tests.helpers import narrow_arch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SPEC = repr(dict(type='lavit_mm.LaViT', arch=narrow_arch('sra')))
KEY = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


def _export():
    return build_target(SPEC, seed=3).module


def _benchmark():
    return run_benchmark([SPEC], shapes=['32'], warmup=1, repeats=1, flops=False,
                         log=lambda m: None)


def _inference():
    return build_inferencer(osp.join(ROOT, 'configs', 'demo', 'lavit_t_synthetic_cls.py'))


def _environment() -> dict:
    """os.environ, less what torch itself records on first use (inductor's cache folder)."""
    return {k: v for k, v in os.environ.items() if k != 'TORCHINDUCTOR_CACHE_DIR'}


@pytest.mark.parametrize('call', [_export, _benchmark, _inference])
def test_helpers_keep_the_callers_random_state_and_environment(call):
    torch.manual_seed(1234)
    state, env = torch.get_rng_state(), _environment()
    call()
    assert torch.equal(torch.get_rng_state(), state), 'the global random state moved'
    assert _environment() == env


def test_export_seed_still_decides_the_weights():
    a, b, c = (build_target(SPEC, seed=s).module for s in (3, 3, 4))
    weight = 'stages.0.patch_embed.proj.weight'
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])
    with seeded(3):
        expected = torch.randn(3)
    with seeded(3):
        assert torch.equal(torch.randn(3), expected)


@pytest.mark.parametrize('before', [None, '0'])
def test_full_unpickling_is_scoped_to_its_block(monkeypatch, tmp_path, before):
    """Inside: a checkpoint with training state (a non-tensor object) loads through
    mmengine's loader, as tools/train.py --resume needs; after: torch's default again."""
    from mmengine.runner.checkpoint import CheckpointLoader
    if before is None:
        monkeypatch.delenv(KEY, raising=False)
    else:
        monkeypatch.setenv(KEY, before)
    path = str(tmp_path / 'run.pth')
    torch.save({'state_dict': {}, 'message_hub': {'x': {1, 2}}, 'meta': {'f': _export}}, path)
    with full_checkpoint_unpickling():
        assert os.environ[KEY] == '1'
        assert CheckpointLoader.load_checkpoint(path, map_location='cpu')['meta']['f'] is _export
    assert os.environ.get(KEY) == before
    with pytest.raises(Exception, match='Weights only load failed'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    with full_checkpoint_unpickling(enabled=False):
        assert os.environ.get(KEY) == before
