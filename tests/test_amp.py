"""Mixed precision: --amp trains all three tasks without NaN (fp16 with loss scaling on a GPU,
bf16 autocast on CPU), and autocast leaves the DP loss in fp32."""
import math

import pytest
import torch

from lavit_mm.apis import build_runner
from lavit_mm.models import LaViT
from tests.helpers import DEMOS, demo_cfg


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(DEMOS))
def test_amp_runs_all_tasks_without_nan(task, tmp_path, request):
    root = request.getfixturevalue(DEMOS[task][1])
    # bf16 is emulated on CPUs without native support (about 19x slower here): keep it short;
    # on a GPU, --amp is mmengine's fp16 AmpOptimWrapper
    small = {} if task == 'cls' else {'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 2}
    runner = build_runner(demo_cfg(task, root, tmp_path, **small), 'train', amp=True)
    runner.train()
    if torch.cuda.is_available():  # --amp on a GPU: mmengine's fp16 with loss scaling
        assert type(runner.optim_wrapper).__name__ == 'AmpOptimWrapper'
        assert runner.optim_wrapper.cast_dtype in (None, torch.float16)  # None: fp16
    else:  # on CPU: bf16 autocast, no loss scaling
        assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
        assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    losses = [float(v) for v in runner.message_hub.get_scalar(DEMOS[task][2]).data[0]]
    dp = [float(v) for v in runner.message_hub.get_scalar('train/loss_dp').data[0]]
    assert losses and all(math.isfinite(v) for v in losses + dp), losses


def test_autocast_keeps_dp_loss_in_fp32():
    model = LaViT(arch='tiny', less_attention=dict(dp_loss=dict(weight=1.0))).train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        model(torch.randn(1, 3, 64, 64))
    assert model.aux_losses()['loss_dp'].dtype == torch.float32
