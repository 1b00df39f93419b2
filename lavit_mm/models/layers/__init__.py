from .attention_state import AttentionState, attend, mix_heads
from .block import Mlp, TransformerBlock
from .cross_stage import CrossStageResidual
from .dp_loss import diagonality_preserving_loss, sra_dp_loss
from .embed import PatchEmbed, PatchMerging, PositionEmbedding, nchw_to_nlc, nlc_to_nchw
from .sra import SpatialReduction, SRAttention, SRLessAttention
from .token_transform import TokenGridTransform
from .window import WindowAttention, WindowLessAttention, WindowState

__all__ = [
    'AttentionState', 'attend', 'Mlp', 'TransformerBlock', 'CrossStageResidual',
    'diagonality_preserving_loss', 'sra_dp_loss', 'PatchEmbed', 'PositionEmbedding',
    'nchw_to_nlc', 'nlc_to_nchw', 'SpatialReduction', 'SRAttention', 'SRLessAttention',
    'TokenGridTransform', 'PatchMerging', 'WindowAttention', 'WindowLessAttention',
    'WindowState', 'mix_heads'
]
