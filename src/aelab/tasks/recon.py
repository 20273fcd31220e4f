"""reconstruct: test/train reconstruction error in explicit units, PSNR, SSIM, the gap.
consistency: spread of K sampled reconstructions of the same inputs: per-element std
across the K passes (population std), averaged (…_std_mean) and its maximum (…_std_max);
exactly 0 for a deterministic model.

Metric units: mse_per_pixel (mean over C·H·W values in [0, 1]), bce_nats_per_image
(summed over pixels), psnr_db (mean of per-image PSNR, peak 1, per-image MSE floored at
1e-12 so a perfect reconstruction reads 120 dB), ssim (mean SSIM, 1 = identical),
variance_ratio (outputs' variance across images over the inputs'; ~0 = output collapse).
"""

from __future__ import annotations

import torch

from ..losses import psnr, ssim
from .common import (Context, bce_nats_per_image, image_rows_figure, mean, mse_per_sample,
                     reconstruct, save, variance_ratio)


def errors(recon: torch.Tensor, x: torch.Tensor) -> dict[str, float]:
    """All reconstruction measures of one split (images in [0, 1])."""
    mse = mse_per_sample(recon, x)  # (N,)
    return {
        "mse_per_pixel": mean(mse),
        "bce_nats_per_image": mean(bce_nats_per_image(recon, x)),
        "psnr_db": mean(psnr(mse)),
        "ssim": mean(ssim(recon.clamp(0, 1), x)),
        "variance_ratio": variance_ratio(recon, x),
    }


def run_reconstruct(ctx: Context) -> dict:
    out: dict = {"n_test": len(ctx.x_test), "n_train": len(ctx.x_train)}
    splits = {"test": ctx.x_test, "train": ctx.x_train}
    recons = {name: reconstruct(ctx, x) for name, x in splits.items()}
    for name, x in splits.items():
        out.update({f"{name}.{k}": v for k, v in errors(recons[name], x).items()})
    # positive gap = worse on unseen data (overfitting shows here first)
    for k in ("mse_per_pixel", "bce_nats_per_image"):
        out[f"gap.{k}"] = out[f"test.{k}"] - out[f"train.{k}"]
    n = min(ctx.params.n_show, len(ctx.x_test))
    fig = image_rows_figure(
        [ctx.x_test[:n], recons["test"][:n]], ["original", "reconstruction"],
        f"Test reconstructions — MSE {out['test.mse_per_pixel']:.4f}/pixel, "
        f"PSNR {out['test.psnr_db']:.1f} dB, SSIM {out['test.ssim']:.3f}")
    save(ctx, fig, "reconstruct")
    return out


def sampled_repeats(ctx: Context, x: torch.Tensor, k: int) -> torch.Tensor:
    """(K, N, *shape): K passes of reconstruct(x, sample=True) over the same images."""
    return torch.stack([reconstruct(ctx, x, sample=True) for _ in range(k)])


def run_consistency(ctx: Context) -> dict:
    k = ctx.params.consistency_repeats
    x = ctx.x_test[:ctx.params.consistency_inputs]  # x_test is already a seeded random subset
    reps = sampled_repeats(ctx, x, k)  # (K, N, *shape)
    std = reps.std(dim=0, correction=0)  # (N, *shape) per-element spread across repeats
    # images: pixel values in [0, 1]; points: coordinates in standardized units
    unit = "pixel" if ctx.data.kind == "image" else "coord_standardized"
    out = {"repeats": k, "n_inputs": len(x),
           f"{unit}_std_mean": mean(std), f"{unit}_std_max": float(std.max()),
           "stochastic_flag": bool(getattr(ctx.model, "stochastic", False))}
    if ctx.data.kind == "image":
        _consistency_figure(ctx, reps, std, out["pixel_std_mean"])
    else:
        _consistency_points_figure(ctx, reps)
    return out


def _consistency_figure(ctx: Context, reps: torch.Tensor, std: torch.Tensor, std_mean: float) -> None:
    n = min(ctx.params.consistency_images, reps.shape[1])
    shown = min(reps.shape[0], 8)
    # rows = images; columns = original, `shown` repeats, the std map rescaled to [0, 1]
    std_map = std[:n] / std[:n].amax().clamp_min(1e-12)
    rows = [torch.cat([ctx.x_test[i:i + 1], reps[:shown, i], std_map[i:i + 1]]) for i in range(n)]
    cols = ["original"] + [f"pass {j + 1}" for j in range(shown)] + ["std (÷ max)"]
    fig = image_rows_figure(rows, [f"image {i + 1}" for i in range(n)],
                            f"Sampled reconstructions, {reps.shape[0]} passes — "
                            f"mean per-pixel std {std_mean:.4f}", col_labels=cols)
    save(ctx, fig, "consistency")


def _consistency_points_figure(ctx: Context, reps: torch.Tensor) -> None:
    import matplotlib.pyplot as plt

    from ..data.contract import from_model_output

    n = min(50, reps.shape[1])
    fig, ax = plt.subplots(figsize=(6, 5))
    x = from_model_output(ctx.x_test[:n], ctx.meta)
    r = from_model_output(reps[:, :n].reshape(-1, reps.shape[-1]), ctx.meta)
    ax.scatter(r[:, 0], r[:, 1], s=6, alpha=0.4, label=f"{reps.shape[0]} sampled reconstructions")
    ax.scatter(x[:, 0], x[:, 1], s=14, c="black", label="original")
    ax.set(title="Sampled reconstructions of the same points", xlabel="x₁", ylabel="x₂")
    ax.legend()
    save(ctx, fig, "consistency")
