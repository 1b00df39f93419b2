from .attention_state import AttentionBase, AttentionState, attend, mix_heads
from .block import Mlp, TransformerBlock
from .cross_stage import CrossStageResidual
from .dense_transform import DenseTokenMap
from .dp_loss import diagonality_preserving_loss, dp_loss_of_scores
from .drloc import DenseRelativeLocalization
from .embed import PatchEmbed, PatchMerging, PositionEmbedding, nchw_to_nlc, nlc_to_nchw
from .kind import (ATTENTION_KINDS, AttentionKind, KindOptions, LayerArgs, LayerOptions,
                   register_attention_kind)
from .less_attention import LessAttentionMixin
from .mbconv import MBConv, SqueezeExcite
from .options import DPLossOptions, OptionSet, option
from .reattention import ReAttention
# the attention kinds register themselves on import
from .sra import (SpatialReduction, SpatialReductionKind, SRAOptions, SRAttention,
                  SRLessAttention)
from .token_transform import TokenGridTransform
from .window import (ShiftedWindowKind, WindowAttention, WindowLessAttention, WindowOptions,
                     WindowState)

__all__ = [
    'AttentionBase', 'AttentionState', 'attend', 'Mlp', 'TransformerBlock',
    'CrossStageResidual', 'diagonality_preserving_loss', 'PatchEmbed',
    'PositionEmbedding', 'nchw_to_nlc', 'nlc_to_nchw', 'ATTENTION_KINDS', 'AttentionKind',
    'LayerArgs', 'register_attention_kind', 'LessAttentionMixin', 'SpatialReduction',
    'SpatialReductionKind', 'SRAttention', 'SRLessAttention', 'TokenGridTransform',
    'PatchMerging', 'ShiftedWindowKind', 'WindowAttention', 'WindowLessAttention',
    'WindowState', 'mix_heads', 'DenseRelativeLocalization', 'MBConv', 'SqueezeExcite',
    'ReAttention', 'KindOptions', 'LayerOptions', 'DPLossOptions',
    'OptionSet', 'option', 'SRAOptions', 'WindowOptions', 'DenseTokenMap', 'dp_loss_of_scores'
]
