"""DeepViT's re-attention (Zhou et al., 2021), an option of Vanilla-Attention layers.

``Z = Norm(Theta^T softmax(q k^T)) v``: a learnable H x H matrix mixes the heads' attention
*probabilities*, then a normalisation across heads. As in the official DeepViT code, the norm
is a BatchNorm over the H head channels (statistics over batch, queries and keys); Theta has
no bias and starts at the identity (the official code uses a 1x1 conv with a bias and its
default init: our choice). A fresh layer in eval mode (BatchNorm running mean 0, variance 1)
is therefore the plain attention, up to the norm's eps.

Entries a mask excludes (Swin's shifted-window regions, LSA's own key) have probability 0
before the mix; the norm would shift them, so they are set back to 0 after it.

Needs the probabilities explicitly: a layer with it cannot use the fused kernel, and costs
O(H^2 N N_k) more. The attention handed on to LA layers is the layer's pre-softmax logits, as
without the option: re-attention changes what the VA layer outputs, not what LA layers reuse.
"""
from typing import Optional

import torch
import torch.nn as nn


class ReAttention(nn.Module):
    """Args:
        num_heads: H.
    """

    def __init__(self, num_heads: int):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(num_heads))  # (H_out, H_in), identity
        self.norm = nn.BatchNorm2d(num_heads)

    def forward(self, probs: torch.Tensor,
                blocked: Optional[torch.Tensor] = None) -> torch.Tensor:
        """probs: (B, H, N, N_k) softmaxed attention -> re-attention maps, same shape.
        ``blocked``: bool, broadcastable to probs, True where the attention is masked."""
        mixed = torch.einsum('gh,bhnk->bgnk', self.weight.to(probs.dtype), probs)
        out = self.norm(mixed)
        return out if blocked is None else out.masked_fill(blocked, 0.)
