"""Inference on your own images through the toolboxes' own Inferencers, with our configs and
checkpoints: mmdet's ``DetInferencer``, mmseg's ``MMSegInferencer``, mmpretrain's
``ImageClassificationInferencer``. The config's ``default_scope`` says which toolbox it is.

    from lavit_mm.apis import build_inferencer
    inferencer = build_inferencer('configs/retinanet_lavit_t.py', 'work_dirs/.../iter_N.pth')
    result = inferencer('photo.jpg')   # the toolbox's own result dict

:func:`infer_images` (``tools/image_demo.py``) checks the inputs first and writes the drawn
predictions to a folder, each toolbox's way.
"""
import os
import os.path as osp
from typing import List, Optional, Union

from mmengine.config import Config

from ..rng import keeps_global_rng

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')


def toolbox_of(cfg: Config, source: str = 'the config') -> str:
    """'mmdet' / 'mmseg' / 'mmpretrain', from the config's ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in TOOLBOXES:
        raise ValueError(f'{source} has default_scope={scope!r}: inference needs a detection '
                         f"(mmdet), segmentation (mmseg) or classification (mmpretrain) config; "
                         f"inherit the toolbox's default_runtime or set default_scope")
    return scope


def _checked_checkpoint(checkpoint: Optional[str]) -> Optional[str]:
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist: give the .pth a '
                                f'training run wrote (work_dir/iter_N.pth or epoch_N.pth)')
    return checkpoint


def _build(scope: str, cfg: Config, checkpoint: Optional[str], device: str):
    """The Inferencer of toolbox ``scope``."""
    if scope == 'mmdet':
        import lavit_mm.models.det  # noqa: F401
        from mmdet.apis import DetInferencer
        return DetInferencer(model=cfg, weights=checkpoint, device=device, show_progress=False)
    if scope == 'mmseg':
        import lavit_mm.models.seg  # noqa: F401
        from mmseg.apis import MMSegInferencer
        return MMSegInferencer(model=cfg, weights=checkpoint, device=device)
    import lavit_mm.models.cls  # noqa: F401
    from mmpretrain.apis import ImageClassificationInferencer
    return ImageClassificationInferencer(model=cfg, pretrained=checkpoint or False,
                                         device=device)


@keeps_global_rng  # the toolbox initialises the model before loading weights
def build_inferencer(config: Union[str, Config], checkpoint: Optional[str] = None,
                     device: str = 'cpu'):
    """The toolbox's Inferencer for ``config`` with the weights of ``checkpoint`` (None: the
    config's initialisation, for a quick look only). Loading our checkpoints needs full
    unpickling (``full_checkpoint_unpickling``), which tools/image_demo.py asks for."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = toolbox_of(cfg, str(config) if isinstance(config, str) else 'the config')
    checkpoint = _checked_checkpoint(checkpoint)
    import lavit_mm.models  # noqa: F401  (our models, whatever the config imports)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):  # not a scope another run left current
        inferencer = _build(scope, cfg, checkpoint, device)
    if checkpoint is not None:
        # the toolboxes load weights leniently (a warning for keys that do not fit): a
        # checkpoint of another model would predict with random weights. Refuse it instead.
        from .export import load_checkpoint_strict
        load_checkpoint_strict(inferencer.model, checkpoint,
                               fix='use the config the checkpoint was trained with')
    return inferencer


def list_images(inputs: Union[str, List[str]]) -> List[str]:
    """An image file, a folder (its images, sorted) or a list of files -> image paths, each
    checked to exist and to be an image PIL can read."""
    from PIL import Image, UnidentifiedImageError
    paths: List[str] = []
    for item in [inputs] if isinstance(inputs, str) else list(inputs):
        if osp.isdir(item):
            found = sorted(osp.join(item, f) for f in os.listdir(item)
                           if f.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise FileNotFoundError(f'{item} holds no image ({", ".join(IMAGE_SUFFIXES)})')
            paths += found
        elif osp.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f'{item} does not exist: give an image file or a folder of '
                                    f'images')
    for path in paths:
        try:
            with Image.open(path) as im:
                im.verify()
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f'{path} is not an image PIL can read ({e}): pass image files '
                             f'(.jpg, .png, ...) only') from None
    return paths


@keeps_global_rng  # the toolbox initialises the model before loading weights
def infer_images(config: str, checkpoint: Optional[str], inputs: Union[str, List[str]],
                 out_dir: str, device: str = 'cpu', score_thr: float = 0.3) -> list:
    """Runs the Inferencer on ``inputs`` and writes each image with its predictions drawn
    under ``out_dir`` (the toolbox's layout: ``vis/`` for mmdet/mmseg, beside raw
    predictions in ``preds/``/``pred/``; mmpretrain's drawn images directly in ``out_dir``).
    Returns the predictions, one per image (the toolbox's data samples)."""
    paths = list_images(inputs)
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = toolbox_of(cfg, str(config) if isinstance(config, str) else 'the config')
    inferencer = build_inferencer(cfg, checkpoint, device)
    if scope == 'mmdet':
        out = inferencer(paths, out_dir=out_dir, pred_score_thr=score_thr, no_save_pred=False,
                         return_datasamples=True)
    elif scope == 'mmseg':
        out = inferencer(paths, out_dir=out_dir, return_datasamples=True)
    else:
        out = inferencer(paths, return_datasamples=True, show_dir=out_dir)
    return out['predictions'] if isinstance(out, dict) else list(out)  # mmseg: the samples
