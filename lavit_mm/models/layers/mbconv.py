"""CoAtNet's convolution block (Dai et al., 2021): a pre-norm MBConv with squeeze-excitation.

    x -> shortcut(x) + drop_path(project(SE(act(BN(dw3x3(act(BN(expand(BN(x)))))))))

``expand`` is a 1x1 conv to ``expansion * out_dims`` (4, CoAtNet's), the 3x3 depthwise conv
carries the block's stride, SE squeezes to ``se_ratio`` (0.25) of the block's input width,
``project`` is a 1x1 conv back to ``out_dims``. A block that downsamples or changes width has
the shortcut CoAtNet describes: average pooling (stride) then a 1x1 conv. BatchNorm and GELU,
as timm's CoAtNet; ``act_cfg``/``norm_cfg`` change them.
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.drop import DropPath


class SqueezeExcite(nn.Module):
    """Channel gates from the global mean: (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, reduced: int, act_cfg: dict = dict(type='GELU')):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = build_activation_layer(act_cfg)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True))))  # (B, C, 1, 1)
        return x * s.sigmoid()


class MBConv(nn.Module):
    """Args:
        in_dims / out_dims: channels in and out.
        stride: of the depthwise conv (and the shortcut's pooling): 1 or 2.
        expansion: hidden width / ``out_dims``.
        se_ratio: SE width / ``in_dims``.
        drop_path_rate: stochastic depth of the residual branch.
    """
    is_less_attention = False  # what the backbone asks of every block

    def __init__(self, in_dims: int, out_dims: int, stride: int = 1, expansion: float = 4.,
                 se_ratio: float = 0.25, drop_path_rate: float = 0.,
                 act_cfg: dict = dict(type='GELU'), norm_cfg: dict = dict(type='BN')):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'MBConv stride must be 1 or 2, got {stride}')
        hidden = int(out_dims * expansion)
        self.pre_norm = build_norm_layer(norm_cfg, in_dims)[1]
        self.expand = nn.Conv2d(in_dims, hidden, 1, bias=False)
        self.norm1 = build_norm_layer(norm_cfg, hidden)[1]
        self.dw = nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, hidden)[1]
        self.act = build_activation_layer(act_cfg)
        self.se = SqueezeExcite(hidden, max(1, int(in_dims * se_ratio)), act_cfg)
        self.project = nn.Conv2d(hidden, out_dims, 1)
        shortcut = []
        if stride > 1:
            shortcut.append(nn.AvgPool2d(stride, ceil_mode=True))
        if stride > 1 or in_dims != out_dims:
            shortcut.append(nn.Conv2d(in_dims, out_dims, 1))
        self.shortcut = nn.Sequential(*shortcut)  # empty: identity
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C_in, H, W) -> (B, C_out, ceil(H / stride), ceil(W / stride))."""
        y = self.act(self.norm1(self.expand(self.pre_norm(x))))
        y = self.se(self.act(self.norm2(self.dw(y))))
        return self.shortcut(x) + self.drop_path(self.project(y))
