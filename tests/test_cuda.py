"""GPU tests: run where CUDA exists, each skipped by name elsewhere. Every backbone's forward
and backward on CUDA equal CPU's in fp32; every attention call takes a fused SDPA kernel
(flash or memory-efficient) on CUDA; gradient checkpointing gives the same gradients."""
import pytest
import torch

from lavit_mm.models import PVT, LaViT, Swin
from tests.helpers import build_narrow

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device (GPU-only test)')

MODELS = {
    'lavit_sra': lambda **kw: build_narrow(LaViT, 'sra', **kw),
    'lavit_window': lambda **kw: build_narrow(LaViT, 'window', window_size=4, **kw),
    'lavit_sra_key_stride_2': lambda **kw: build_narrow(LaViT, 'sra', **kw,
                                                        less_attention=dict(key_stride=2)),
    'pvt': lambda **kw: build_narrow(PVT, 'sra', arch=dict(
        embed_dims=[16, 32, 48, 64], depths=[2, 2, 2, 2], num_heads=[1, 2, 3, 4],
        mlp_ratios=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1]), **kw),
    'swin': lambda **kw: build_narrow(Swin, 'window', arch=dict(
        embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 4],
        mlp_ratios=[2, 2, 2, 2]), window_size=4, **kw),
}


def _forward_backward(model, x):
    model.train()
    torch.manual_seed(1)  # drop path draws
    outs = model(x)
    aux = model.aux_losses() if hasattr(model, 'aux_losses') else {}
    loss = sum(o.square().mean() for o in outs) + sum(aux.values())
    loss.backward()
    grads = {n: p.grad.detach().cpu() for n, p in model.named_parameters() if p.grad is not None}
    return [o.detach().cpu() for o in outs], grads


@needs_cuda
@pytest.mark.parametrize('name', sorted(MODELS))
def test_cuda_forward_backward_equals_cpu_fp32(name, monkeypatch):
    """fp32 on both (TF32 off): outputs within 1e-4 and gradients within 1e-3 relative."""
    monkeypatch.setattr(torch.backends.cuda.matmul, 'allow_tf32', False)
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    x = torch.randn(2, 3, 96, 128)
    cpu_outs, cpu_grads = _forward_backward(MODELS[name](drop_path_rate=0.), x)
    gpu_outs, gpu_grads = _forward_backward(MODELS[name](drop_path_rate=0.).cuda(), x.cuda())
    for a, b in zip(cpu_outs, gpu_outs):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    assert cpu_grads.keys() == gpu_grads.keys()
    for n in cpu_grads:
        torch.testing.assert_close(gpu_grads[n], cpu_grads[n], rtol=1e-3, atol=1e-5, msg=n)


@needs_cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.float32])
@pytest.mark.parametrize('name', sorted(MODELS))
def test_every_attention_call_takes_a_fused_kernel_on_cuda(name, dtype):
    """With only the flash and memory-efficient backends allowed (no math fallback), every
    VA, LA, window, shifted and cross-stage attention call runs, forward and backward."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    model = MODELS[name](drop_path_rate=0.).cuda().to(dtype)
    x = torch.randn(2, 3, 96, 128, device='cuda', dtype=dtype)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
        outs = model.train()(x)
        sum(o.float().square().mean() for o in outs).backward()
    assert all(torch.isfinite(o).all() for o in outs)


@needs_cuda
def test_gradient_checkpointing_on_cuda_gives_the_same_gradients():
    x = torch.randn(2, 3, 96, 128, device='cuda')
    _, plain = _forward_backward(MODELS['lavit_sra'](drop_path_rate=0.).cuda(), x)
    _, checkpointed = _forward_backward(
        MODELS['lavit_sra'](drop_path_rate=0., with_cp=True).cuda(), x)
    for n in plain:
        torch.testing.assert_close(checkpointed[n], plain[n], rtol=1e-4, atol=1e-6, msg=n)
