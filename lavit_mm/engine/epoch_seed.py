"""Epoch-seeded randomness: a run resumed from an epoch checkpoint draws the same data
augmentation and drop-path masks as the run that was never stopped.

mmengine's checkpoint holds the weights, the optimizer, the schedulers and the epoch, and its
``DefaultSampler`` orders each epoch by (seed, epoch). It does not hold the generators that
random augmentation (flips, crops) and stochastic depth draw from: Python's, numpy's and
torch's global ones, in the main process and in every data-loader worker. mmengine seeds them
once, at start-up, so a resumed run draws other flips from the resumed epoch on than the
uninterrupted run did: the same distribution, other numbers, another final model.

``EpochSeedHook`` makes every such draw a function of (seed, epoch, rank, worker): before each
training epoch it seeds the main process's generators from (seed, epoch, rank, 0) and gives
the training loader a ``worker_init_fn`` that seeds worker ``w`` from (seed, epoch, rank,
w + 1) when the epoch starts its workers::

    custom_hooks = [dict(type='lavit_mm.EpochSeedHook')]
    train_dataloader = dict(persistent_workers=False)

Refused by name: persistent workers (started once, they carry their generators from epoch to
epoch where no checkpoint reaches them) and iteration-based loops (mmengine resumes those by
running the loader through the iterations already trained, which repeats the data draws;
drop path there stays unrepeated, as the guide says).
"""
from functools import partial

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop, set_random_seed

from lavit_mm.registry import HOOKS


def derived_seed(seed: int, epoch: int, rank: int, stream: int) -> int:
    """A 32-bit seed for one (seed, epoch, rank, stream); stream 0 is the main process,
    ``w + 1`` loader worker ``w``. numpy's SeedSequence keeps nearby keys independent."""
    return int(np.random.SeedSequence([seed, epoch, rank, stream]).generate_state(1)[0])


def seed_worker(worker_id: int, seed: int, epoch: int, rank: int) -> None:
    """A loader's ``worker_init_fn`` for one epoch: worker ``worker_id``'s Python, numpy and
    torch generators (mmengine's ``set_random_seed``, as the Runner seeds at start-up)."""
    set_random_seed(derived_seed(seed, epoch, rank, worker_id + 1))


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seeds the main process and the training loader's workers from (seed, epoch) at the
    start of every training epoch, so that a run resumed from an epoch checkpoint repeats the
    uninterrupted run's random draws (see the module docstring)."""

    priority = 'VERY_HIGH'  # before any other hook of the epoch draws

    def before_train(self, runner) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError(
                f'EpochSeedHook seeds per epoch, but this run trains with '
                f'{type(runner.train_loop).__name__}; mmengine resumes an iteration-based run '
                f'by running the loader through the trained iterations, which repeats the '
                f'data draws already. Remove the hook from custom_hooks')
        loader = runner.train_dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            raise ValueError(
                'EpochSeedHook cannot seed persistent loader workers: they start once and '
                'carry their random state from epoch to epoch, where no checkpoint reaches '
                'it. Set train_dataloader.persistent_workers=False')

    def before_train_epoch(self, runner) -> None:
        rank = get_rank()
        set_random_seed(derived_seed(runner.seed, runner.epoch, rank, 0))
        runner.train_dataloader.worker_init_fn = partial(
            seed_worker, seed=runner.seed, epoch=runner.epoch, rank=rank)
