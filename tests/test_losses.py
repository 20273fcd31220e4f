"""Reconstruction losses: known answers and numerics under bf16 autocast."""

import torch

from aelab.losses import reconstruction, ssim


def _pair(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(8, 1, 28, 28, generator=g).round()  # binarized digits-like targets
    out = torch.randn(8, 1, 28, 28, generator=g)  # decoder logits
    return x, out


def test_ssim_known_answers():
    x, _ = _pair()
    assert torch.allclose(ssim(x, x), torch.ones(8))
    assert (ssim(x, 1 - x) < 0).all()  # anti-correlated images: negative SSIM


def test_ssim_loss_is_fp32_exact_under_bf16_autocast():
    """The bce_ssim variant trains in bf16: SSIM's E[a²] − E[a]² must not cancel in bf16."""
    x, out = _pair(1)
    ref = reconstruction("bce_ssim", out, x, logits=True)
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inner = ssim(torch.sigmoid(out), x)
        assert inner.dtype == torch.float32
        loss = reconstruction("bce_ssim", net(out), x, logits=True)
    assert torch.allclose(inner, ssim(torch.sigmoid(out), x), atol=1e-6)
    assert torch.isfinite(loss).all() and torch.isfinite(ref).all()
    loss.mean().backward()
    assert torch.isfinite(net.weight.grad).all()
