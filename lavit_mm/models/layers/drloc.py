"""Dense relative localization (DRLoc; Liu et al., NeurIPS 2021), an auxiliary loss.

On a feature map (the backbone's last stage), ``pairs`` pairs of positions are drawn per
image; a small MLP reads the two tokens (concatenated) and predicts their offset normalised by
the grid, ``((i - p) / H, (j - h) / W)``; the loss is the L1 error (summed over the two
coordinates, averaged over pairs and images). No labels; the backbone reports it as
``loss_drloc`` (times its weight) through the task models of lavit_mm, as ``loss_dp``.

The paper's: the pair sampling, the offset target normalised by the grid side, the L1 loss,
m = 64 pairs, an MLP head. Ours: the MLP's sizes (2C -> 512 -> 512 -> 2, ReLU), dividing
rows by H and columns by W on non-square (detection) grids, and positions that are a function
of the backbone's step counter (``counter_random.py``), so a resumed run draws what the
uninterrupted one would, on the feature's device and without a graph break.
"""
import torch
import torch.nn as nn

from .counter_random import Seed, as_seed, counter_randint


class DenseRelativeLocalization(nn.Module):
    """Args:
        dims: channels of the feature map.
        pairs: position pairs drawn per image (m).
        hidden: the MLP's hidden width.
    """

    def __init__(self, dims: int, pairs: int = 64, hidden: int = 512):
        super().__init__()
        self.pairs = pairs
        self.mlp = nn.Sequential(
            nn.Linear(2 * dims, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 2))

    def sample(self, batch: int, hw, seed: torch.Tensor) -> torch.Tensor:
        """(2, B, m) flat positions on grid ``hw``, a function of the int64 scalar tensor
        ``seed`` (on its device)."""
        return counter_randint(seed, hw[0] * hw[1], (2, batch, self.pairs))

    def loss(self, feat: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """feat: (B, C, H, W); positions: (2, B, m) flat indices -> the L1 loss (scalar)."""
        B, C, H, W = feat.shape
        tokens = feat.flatten(2).transpose(1, 2)  # (B, N, C)
        a, b = (tokens.gather(1, idx[..., None].expand(-1, -1, C)) for idx in positions)
        pred = self.mlp(torch.cat([a, b], dim=-1)).float()  # (B, m, 2)
        rows, cols = positions // W, positions % W  # (2, B, m) each
        target = torch.stack([(rows[0] - rows[1]) / H, (cols[0] - cols[1]) / W], dim=-1)
        return (pred - target.to(pred.dtype)).abs().sum(-1).mean()

    def forward(self, feat: torch.Tensor, seed: Seed) -> torch.Tensor:
        """feat: (B, C, H, W); seed: int or int64 scalar tensor -> the L1 loss (scalar)."""
        return self.loss(feat, self.sample(feat.shape[0], feat.shape[-2:],
                                           as_seed(seed, feat.device)))
