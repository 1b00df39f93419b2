"""Nothing is lost and nothing changes with scale: a training run killed by SIGKILL resumes
to the same end state, and a 2-process (torchrun, gloo) run matches a 1-process run with the
same total batch. Both run tools/train.py in subprocesses, as users do. A checkpoint cut short
while saving is named, not loaded, when a run resumes or tests from it."""
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from lavit_mm.apis import build_runner
from lavit_mm.datasets import make_synthetic_coco
from tests.helpers import demo_cfg, write_truncated

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join('configs', 'demo', 'retinanet_lavit_t_synthetic.py')
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('coco')
    return str(make_synthetic_coco(str(root), num_train=16, num_val=2, image_size=(192, 192),
                                   seed=7)) + '/'


def options(coco_root, **extra):
    opts = {
        'train_dataloader.dataset.data_root': coco_root,
        'val_dataloader.dataset.data_root': coco_root,
        'test_dataloader.dataset.data_root': coco_root,
        'val_evaluator.ann_file': coco_root + 'annotations/instances_val2017.json',
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
        'train_cfg.val_interval': 1000,
        'default_hooks.logger.interval': 1, 'log_processor.window_size': 1,
        # stochastic depth draws from torch's global RNG, which mmengine does not checkpoint
        'model.backbone.drop_path_rate': 0.0,
        'train_dataloader.dataset.pipeline.2.scale': (128, 128),  # a quarter of the demo's
    }
    opts.update(extra)
    return [f'{k}={v}' for k, v in opts.items()]


def train_cmd(work_dir, opts, *extra):
    return [sys.executable, 'tools/train.py', DEMO, '--work-dir', str(work_dir), *extra,
            '--cfg-options', *opts]


def losses_by_iter(work_dir):
    out = {}
    for run in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            for line in open(path):
                r = json.loads(line)
                if 'loss' in r:
                    out[r['iter']] = (r['loss'], r['loss_cls'], r['loss_bbox'], r['loss_dp'])
    return out


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)  # our own test files


def test_sigkill_then_resume_ends_bitwise_equal(coco_root, tmp_path):
    opts = options(coco_root, **{'train_cfg.max_iters': 8,
                                 'default_hooks.checkpoint.interval': 4,
                                 'train_dataloader.batch_size': 4})
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    subprocess.run(train_cmd(tmp_path / 'full', opts), cwd=ROOT, env=env, check=True,
                   capture_output=True)

    killed = tmp_path / 'killed'
    proc = subprocess.Popen(train_cmd(killed, opts), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (killed / 'iter_4.pth').is_file() and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # let the checkpoint finish writing; iterations 5-8 take seconds
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, 'the run ended before it could be killed'
    assert not (killed / 'iter_8.pth').exists()

    subprocess.run(train_cmd(killed, opts, '--resume'), cwd=ROOT, env=env, check=True,
                   capture_output=True)
    a, b = load(tmp_path / 'full' / 'iter_8.pth'), load(killed / 'iter_8.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 8
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k]), k
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys()
    for i in opt_a:
        for name, value in opt_a[i].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(opt_b[i][name]))
    assert a['param_schedulers'] == b['param_schedulers']
    # the log: iterations 5-8 of the resumed run are those of the uninterrupted run
    full, resumed = losses_by_iter(tmp_path / 'full'), losses_by_iter(killed)
    assert sorted(full) == list(range(1, 9)) and set(range(5, 9)) <= set(resumed)
    for it in range(1, 9):
        assert full[it] == resumed[it], it


def test_two_processes_match_one_process_with_the_same_total_batch(coco_root, tmp_path):
    """2 gloo processes x batch 2 against 1 process x batch 4 (same seed, same images per
    step: rank r takes every other index of the same shuffled order).

    Tolerance: mmdet normalises RetinaNet's losses by the positive anchors of each
    process's own half batch (it does not all-reduce that count), so the averaged gradient
    weights the two halves by P_total / (2 P_rank) instead of 1: updates differ by the
    imbalance of positives between the halves, not by data or order. We require the
    2-process weights to be at least 5x closer to the 1-process-batch-4 run than a
    1-process run with batch 2 (half the data per step) is. mmengine logs rank 0's loss,
    i.e. the loss of its half batch: it is printed beside the 1-process loss.
    """
    iters = 4
    common = {'train_cfg.max_iters': iters, 'default_hooks.checkpoint.interval': iters,
              'train_dataloader.dataset.pipeline.3.prob': 0.0}  # RandomFlip off: same data
    env = dict(os.environ, OMP_NUM_THREADS='1')
    runs = {}
    # the 2-process run also checkpoints its blocks (with_cp): same math, under DDP
    for name, batch, nproc in (('one_b4', 4, 1), ('one_b2', 2, 1), ('two_b2', 2, 2)):
        opts = options(coco_root, **common, **{'train_dataloader.batch_size': batch,
                                               'model.backbone.with_cp': nproc == 2})
        work_dir = tmp_path / name
        if nproc == 1:
            cmd = train_cmd(work_dir, opts)
        else:
            cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                   '--master_port', '29517', 'tools/train.py', DEMO, '--work-dir',
                   str(work_dir), '--launcher', 'pytorch', '--cfg-options', *opts]
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr[-3000:]
        runs[name] = load(work_dir / f'iter_{iters}.pth')['state_dict']

    def distance(x, y):
        return sum((runs[x][k].float() - runs[y][k].float()).norm() ** 2
                   for k in runs[x]).sqrt().item()

    near, control = distance('two_b2', 'one_b4'), distance('one_b2', 'one_b4')
    print(f'weight distance after {iters} steps: 2 proc x 2 vs 1 x 4: {near:.4g}; '
          f'1 x 2 vs 1 x 4: {control:.4g}')
    assert near < control / 5
    one, rank0 = losses_by_iter(tmp_path / 'one_b4'), losses_by_iter(tmp_path / 'two_b2')
    print('loss per step, 1 x 4:', [round(one[i][0], 4) for i in sorted(one)])
    print('loss per step, rank 0 of 2 x 2 (its half batch):',
          [round(rank0[i][0], 4) for i in sorted(rank0)])
    assert sorted(rank0) == list(range(1, iters + 1))
    assert runs['two_b2']['backbone.dp_step'].item() == iters


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason='needs a CUDA device: NCCL runs only on GPUs (GPU-only test)')
def test_torchrun_one_process_nccl_trains_like_the_plain_run(coco_root, tmp_path):
    """tools/train.py under torchrun on one GPU: mmengine's NCCL process group and DDP with
    device_ids (our CPU adaptation stays off where CUDA exists); the weights after 2 steps
    equal those of the same run without a launcher (one process: DDP averages nothing)."""
    iters = 2
    opts = options(coco_root, **{'train_cfg.max_iters': iters,
                                 'default_hooks.checkpoint.interval': iters,
                                 'train_dataloader.batch_size': 2,
                                 'train_dataloader.dataset.pipeline.3.prob': 0.0,
                                 'env_cfg.dist_cfg.backend': 'nccl'})  # the demo says gloo
    env = dict(os.environ, OMP_NUM_THREADS='1')
    plain = subprocess.run(train_cmd(tmp_path / 'plain', opts), cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-3000:]
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '1',
           '--master_port', '29518', 'tools/train.py', DEMO, '--work-dir',
           str(tmp_path / 'nccl'), '--launcher', 'pytorch', '--cfg-options', *opts]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    log = open(next((tmp_path / 'nccl').glob('*/*.log'))).read()
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert 'gloo backend' not in log  # adapt_distributed_to_cpu did not apply
    a = load(tmp_path / 'plain' / f'iter_{iters}.pth')['state_dict']
    b = load(tmp_path / 'nccl' / f'iter_{iters}.pth')['state_dict']
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k].float(), a[k].float(), rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.slow
def test_resume_from_truncated_checkpoint_is_named(coco_root, tmp_path):
    cfg = demo_cfg('det', coco_root, tmp_path, **{'train_cfg.max_iters': 2,
                                                  'default_hooks.checkpoint.interval': 2})
    build_runner(cfg, 'train').train()
    write_truncated(tmp_path / 'iter_2.pth', tmp_path / 'iter_2.cut')
    shutil.move(tmp_path / 'iter_2.cut', tmp_path / 'iter_2.pth')  # killed while saving
    cfg = demo_cfg('det', coco_root, tmp_path, **{'train_cfg.max_iters': 4})
    with pytest.raises(ValueError, match=r'iter_2.pth is truncated.*--resume WORK_DIR/iter_N'):
        build_runner(cfg, 'train', resume='auto')
    with pytest.raises(ValueError, match='iter_2.pth is truncated'):
        build_runner(cfg, 'test', checkpoint=str(tmp_path / 'iter_2.pth'))
