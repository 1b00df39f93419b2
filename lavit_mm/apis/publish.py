"""Reduce a training checkpoint to what inference and fine-tuning need: ``meta`` + weights.

mmengine checkpoints also hold optimizer, scheduler and message-hub state; the last pickles
Python objects that torch >= 2.6's safe loader (``weights_only=True``) refuses. A published
checkpoint loads safely anywhere, e.g. through ``init_cfg=dict(type='Pretrained', ...)``.
"""
import torch

_PRIMITIVE = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` if it is made of primitives, lists, tuples and str-keyed dicts, else None."""
    if isinstance(value, _PRIMITIVE):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return type(value)(items) if all(
            i is not None or v is None for i, v in zip(items, value)) else None
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _plain(v) for k, v in value.items()}
        return items if all(items[k] is not None or value[k] is None for k in value) else None
    return None


def publish_checkpoint(src: str, dst: str) -> dict:
    """Writes ``dst`` = ``src``'s state_dict + its plain meta. Unpickles ``src`` fully: use it
    on checkpoints you trust (your own runs). Returns the published dict."""
    checkpoint = torch.load(src, map_location='cpu', weights_only=False)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{src} is not an mmengine checkpoint (no "state_dict" key)')
    meta = {k: v for k, v in (checkpoint.get('meta') or {}).items() if _plain(v) is not None}
    published = {'meta': meta, 'state_dict': checkpoint['state_dict']}
    torch.save(published, dst)
    torch.load(dst, map_location='cpu', weights_only=True)  # must load safely
    return published


def transplant_checkpoint(config, src: str, dst: str, seed: int = 0):
    """The whole trained model of ``src`` (e.g. a PVTv2 classifier) loaded into the model of
    ``config`` (a Config; e.g. a LaViT classifier of the same widths) as a backbone loads a
    checkpoint (``models.checkpoint.load_pretrained``: VA weights as they are, an LA layer the
    value projection, a report of what was missing and unused), then written to ``dst`` as a
    published checkpoint for ``tools/test.py`` or ``load_from``. The model is initialised as
    training would start it first (seeded with ``seed``; the caller's random state is kept),
    so what the file lacks keeps its fresh initialisation (Theta/Psi the identity, cross-stage
    maps zero). Returns the load report."""
    from ..engine.config import build_model
    from ..models.checkpoint import load_pretrained
    from ..rng import seeded
    with seeded(seed):
        model = build_model(config)
        model.init_weights()
    report = load_pretrained(model, src)
    torch.save({'meta': dict(transplanted_from=src), 'state_dict': model.state_dict()}, dst)
    return report
