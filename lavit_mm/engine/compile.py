"""``compile=True`` (or a dict of ``torch.compile`` options) in a config: what mmengine does
with it, and the two things :func:`lavit_mm.apis.build_runner` adds.

mmengine 0.10 compiles ``model.train_step`` in ``Runner.train()`` (data preprocessor,
forward, losses and the optimizer step); validation and test steps stay eager.

1. Training: mmengine's optimizer constructor puts the parameter groups into a ``ConfigDict``
   (assigning a list of dicts to a ``ConfigDict`` converts every dict), and dynamo cannot trace
   ``optimizer.step()`` over ``ConfigDict`` groups (torch 2.13: ``InternalTorchDynamoError:
   'UserDefinedDictVariable' object has no attribute 'items'``). :class:`PlainParamGroupsHook`
   turns them into plain dicts (same keys, same values) before the run.
2. Testing: ``tools/test.py`` compiles ``model.test_step`` with the same options
   (:func:`compile_test_step`), so a compiled config is compiled in both.

Our backbones trace without graph breaks, in training (DP loss included) and eval
(``tests/test_compile.py``); the toolboxes' heads and losses break the graph where they read
values on the host (assertions on labels, NMS, assigners): those parts run eager.
"""
from typing import Optional

import torch
from mmengine.hooks import Hook


def compile_options(cfg) -> Optional[dict]:
    """The config's ``compile`` as ``torch.compile`` keyword arguments (None: not compiled),
    read as mmengine reads it."""
    option = cfg.get('compile', None)
    if option is None or option is False:
        return None
    if option is True:
        return {}
    if not isinstance(option, dict):
        raise TypeError(f'compile must be True, False or a dict of torch.compile options '
                        f'(e.g. dict(backend="inductor", mode="max-autotune")), got {option!r}')
    return dict(option)


def plain_param_groups(optim_wrapper) -> None:
    """Every optimizer's parameter groups as plain dicts (same keys, same values), in place;
    ``optim_wrapper``: an OptimWrapper or an OptimWrapperDict."""
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    for wrapper in wrappers:
        optimizer = getattr(wrapper, 'optimizer', None)
        if optimizer is not None:
            optimizer.param_groups = [dict(group) for group in optimizer.param_groups]


class PlainParamGroupsHook(Hook):
    """:func:`plain_param_groups` before the run (the Runner builds the optimizer wrapper
    in ``train()``, before this hook and before it compiles ``train_step``)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        plain_param_groups(runner.optim_wrapper)


def compile_test_step(runner, options: dict) -> None:
    """``runner.model.test_step`` compiled with ``options`` (mmengine compiles only
    ``train_step``)."""
    runner.model.test_step = torch.compile(runner.model.test_step, **options)
