"""Reconstruction losses, KL and MMD, each returning one value per sample (B,).

Units are explicit so numbers from different models can be compared:
- "bce":  binary cross-entropy summed over pixels          → nats per image
- "mse":  squared error averaged over elements             → MSE per pixel (or per coordinate)
- "sse":  squared error summed over elements               → squared error per image
- "l1":   absolute error averaged over elements            → MAE per pixel
- "ssim": 1 − SSIM (gaussian window 7, per channel)        → dissimilarity per image, in [0, 2]
- "bce_ssim": bce + ssim_weight · n_pixels · (1 − SSIM)     → nats-scaled per image
- "bce_per_pixel": bce / n_pixels (nats per pixel): only the BCE warm-up of a model whose
  loss is per pixel (Autoencoder._loss_name), so Adam's moment estimates carry over
Decoders with sigmoid outputs hand logits to these functions; BCE uses the logits
directly (numerically stable), the other losses use sigmoid(logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

RECON_LOSSES = ("bce", "mse", "sse", "l1", "ssim", "bce_ssim")
LOSS_UNITS = {"bce": "nats/image", "mse": "MSE/pixel", "sse": "SE/image", "l1": "MAE/pixel",
              "ssim": "1-SSIM/image", "bce_ssim": "nats/image + SSIM term"}


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1)


def reconstruction(name: str, out: torch.Tensor, x: torch.Tensor, logits: bool,
                   ssim_weight: float = 1.0) -> torch.Tensor:
    """Per-sample loss (B,). `out` is the decoder output: logits if `logits`, else values."""
    if name == "bce":
        if logits:
            return _flat(F.binary_cross_entropy_with_logits(out, x, reduction="none")).sum(1)
        return _flat(F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), x, reduction="none")).sum(1)
    if name == "bce_per_pixel":  # the warm-up loss: on the per-pixel scale of mse/l1
        return reconstruction("bce", out, x, logits) / x[0].numel()
    recon = torch.sigmoid(out) if logits else out
    if name == "mse":
        return _flat((recon - x) ** 2).mean(1)
    if name == "sse":
        return _flat((recon - x) ** 2).sum(1)
    if name == "l1":
        return _flat((recon - x).abs()).mean(1)
    if name == "ssim":
        return 1.0 - ssim(recon, x)
    if name == "bce_ssim":
        n_pix = x[0].numel()
        return reconstruction("bce", out, x, logits) + ssim_weight * n_pix * (1.0 - ssim(recon, x))
    raise ValueError(f"unknown reconstruction loss {name!r}; choose from {RECON_LOSSES}")


def _gauss_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :])[None, None]  # (1, 1, k, k)
    return w.expand(channels, 1, size, size).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor, size: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM per image (B,) for images in [0, 1] (Wang et al. 2004 constants).

    Always computed in fp32, also under bf16 autocast: var = E[a²] − E[a]² cancels
    catastrophically at bf16's 8-bit mantissa (it went negative and the loss to −inf)."""
    with torch.autocast(a.device.type, enabled=False):
        return _ssim_fp32(a.float(), b.float(), size, sigma)


def _ssim_fp32(a: torch.Tensor, b: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    c = a.shape[1]
    size = min(size, a.shape[-1], a.shape[-2])
    w = _gauss_window(size, sigma, c, a.device, a.dtype)
    mu_a, mu_b = F.conv2d(a, w, groups=c), F.conv2d(b, w, groups=c)
    var_a = F.conv2d(a * a, w, groups=c) - mu_a**2
    var_b = F.conv2d(b * b, w, groups=c) - mu_b**2
    cov = F.conv2d(a * b, w, groups=c) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def kl_normal_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per sample and latent dimension (B, latent), nats."""
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar)


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample (B,), in nats."""
    return kl_normal_per_dim(mu, logvar).sum(1)


def kernel_matrix(a: torch.Tensor, b: torch.Tensor, kind: str, bandwidths) -> torch.Tensor:
    """Sum over bandwidths of SE exp(−d²/(2h²)) or IMQ c/(c + d²), c = 2·dim·h² (Tolstikhin 2018)."""
    d2 = torch.cdist(a, b).pow(2)  # (Na, Nb)
    dim = a.shape[1]
    k = torch.zeros_like(d2)
    for h in bandwidths:
        if kind == "rbf":
            k = k + torch.exp(-d2 / (2.0 * h * h))
        elif kind == "imq":
            c = 2.0 * dim * h * h
            k = k + c / (c + d2)
        else:
            raise ValueError(f"unknown kernel {kind!r}; choose 'rbf' or 'imq'")
    return k


def mmd2(x: torch.Tensor, y: torch.Tensor, kind: str = "rbf", bandwidths=(1.0,)) -> torch.Tensor:
    """Unbiased MMD² estimate between samples x (N, D) and y (M, D) (scalar)."""
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = (kernel_matrix(x, x, kind, bandwidths), kernel_matrix(y, y, kind, bandwidths),
                     kernel_matrix(x, y, kind, bandwidths))
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return sxx + syy - 2.0 * kxy.mean()


def psnr(mse_per_image: torch.Tensor, peak: float = 1.0) -> torch.Tensor:
    """PSNR in dB per image from its per-pixel MSE."""
    return 10.0 * torch.log10(peak**2 / mse_per_image.clamp_min(1e-12))

