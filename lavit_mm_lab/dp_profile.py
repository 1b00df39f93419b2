"""The DP loss's cost per LA layer grid, for ``tools/analysis/profile_dp_loss.py``."""
import time
from collections import defaultdict

import torch

from lavit_mm.models.aux_loss import ForwardContext


def dp_loss_parts(backbone, x: torch.Tensor) -> dict:
    """{grid 'HxW': [LA layers, transform s, loss forward s, loss backward s]}."""
    ctx = ForwardContext(dp_inputs=[])
    with torch.no_grad():
        backbone._run(x, ctx)
    parts = defaultdict(lambda: [0, 0., 0., 0.])
    for i, (attn, prev, hw) in enumerate(ctx.dp_inputs):
        t0 = time.perf_counter()
        state = attn.transform(prev.detached(), hw)
        t1 = time.perf_counter()
        loss = attn.dp_loss_of(state, torch.tensor(i), backbone.dp_margin, backbone.dp_form)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        row = parts[f'{hw[0]}x{hw[1]}']
        row[0] += 1
        row[1] += t1 - t0
        row[2] += t2 - t1
        row[3] += t3 - t2
    backbone.zero_grad(set_to_none=True)
    return dict(parts)
