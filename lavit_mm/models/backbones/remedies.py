"""The small-data remedies that act on a hierarchical backbone as a whole, given in
``remedies=dict(...)`` beside re-attention and LSA (which act inside VA layers and are the
layers' ``BlockOptions``)."""
from dataclasses import dataclass
from typing import Optional, Sequence

from ..layers.options import REMEDIES, OptionSet, option


@dataclass(frozen=True)
class Remedies(OptionSet):
    """Keys of ``remedies=dict(...)``.

    Attributes:
        spt: Shifted Patch Tokenization in the first stage's patch embedding (the image and
            its four diagonal half-patch shifts, LayerNorm, linear; ``layers/embed.py``).
        stage_types: one of 'attn'/'conv' per stage (None: all 'attn'): 'conv' stages are
            CoAtNet's MBConv blocks with squeeze-excitation, first, e.g. ('conv', 'conv',
            'attn', 'attn'); widths and strides, so the feature pyramid, stay the arch's.
        drloc_weight: weight of the DRLoc auxiliary loss on the last stage's map (0: off),
            reported as ``loss_drloc`` by lavit_mm's task models.
        drloc_pairs: position pairs per image for DRLoc (default 64; needs drloc_weight).
    """
    spt: bool = option(False, 'bool', REMEDIES)
    stage_types: Optional[Sequence[str]] = option(None, None, REMEDIES)
    drloc_weight: float = option(0., 'non_negative', REMEDIES)
    drloc_pairs: Optional[int] = option(None, 'positive_int', REMEDIES)

    def check(self, owner, given):
        if self.drloc_pairs is not None and not self.drloc_weight:
            raise ValueError(f'{owner}: remedies.drloc_pairs configures the DRLoc loss, which '
                             f'is off (drloc_weight=0): remove it or set drloc_weight > 0')
