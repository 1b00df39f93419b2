"""What every backbone of ours checks of its inputs: the images of a forward and the
``init_cfg`` it is built with. Each refusal names the problem and the fix."""
import torch

_NON_FINITE_INPUT = ('{}: the input images hold NaN/Inf in training: check the data pipeline '
                     'and the data preprocessor (mean/std); check_finite=True names the '
                     'samples')


def assert_finite(x: torch.Tensor, what: str, fix: str) -> None:
    """Raises, naming the batch samples, when ``x`` (B, ...) holds NaN/Inf (a host sync)."""
    bad = ~torch.isfinite(x)
    if bad.any():
        samples = bad.flatten(1).any(1).nonzero().flatten().tolist()
        raise FloatingPointError(f'{what} hold NaN/Inf ({int(bad.sum())} values, batch '
                                 f'samples {samples}): {fix}')


def check_images(owner: str, x: torch.Tensor, training: bool, check_finite: bool) -> None:
    """Images (B, C, H, W) must be float (normalised), and finite in training. With
    ``check_finite`` the check is exact and names the samples; otherwise, in training, NaN/Inf
    images would turn the loss and then the weights into NaN without a word (mmengine does
    not check, AMP's loss scaler skips such steps silently), so one reduction is asserted
    with no host sync and no graph break (on CUDA it fails as a device assert)."""
    if not x.is_floating_point():
        raise TypeError(f'{owner}: images must be a float tensor (B, C, H, W), normalised, '
                        f'got {x.dtype}: pass them through the data preprocessor (mean/std '
                        f'in the config), or convert them, e.g. (x.float() - mean) / std')
    if x.shape[0] == 0:
        return
    if check_finite:
        assert_finite(x, 'the input images',
                      'check the data pipeline and the data preprocessor (mean/std)')
    elif training:
        torch._assert_async(torch.isfinite(x).all(), _NON_FINITE_INPUT.format(owner))


def check_init_cfg(owner: str, init_cfg) -> None:
    """None, or a ``Pretrained`` init with a checkpoint path (``type`` may be left out, as
    mmdet's PVT v2 and Swin configs leave it: a checkpoint alone means Pretrained)."""
    if init_cfg is None:
        return
    if not (isinstance(init_cfg, dict) and init_cfg.get('type', 'Pretrained') == 'Pretrained'
            and init_cfg.get('checkpoint')):
        raise ValueError(f"{owner}: init_cfg must be None (our truncated-normal init) or "
                         f"dict(type='Pretrained', checkpoint=..., prefix=...), got "
                         f"{init_cfg!r}")
    checkpoint = init_cfg['checkpoint']
    if not isinstance(checkpoint, str):
        raise TypeError(f"{owner}: init_cfg checkpoint must be a file path or URL, got "
                        f"{checkpoint!r} ({type(checkpoint).__name__}): e.g. "
                        f"checkpoint='work_dirs/cls/epoch_300.pth'")


def outputs_for_empty_batch(backbone, x: torch.Tensor) -> tuple:
    """A batch of 0 images -> ``backbone``'s outputs for 0 images, as torch's own layers
    give: the shapes come from one blank image in eval mode, without gradients; no training
    state (step counters, kept losses) moves."""
    training = backbone.training
    try:
        backbone.train(False)
        with torch.no_grad():
            outs = backbone(x.new_zeros((1, *x.shape[1:])))
    finally:
        backbone.train(training)
    return tuple(o[:0] for o in outs)
