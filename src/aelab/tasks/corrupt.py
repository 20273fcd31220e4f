"""denoise and inpaint: corrupt test images, reconstruct, measure against the clean image.

All errors are MSE per pixel against the clean image, in [0, 1] pixel units.
denoise.<level>: mse_noisy (the corrupted input), mse_recon (the model's output) and
gain = mse_noisy / mse_recon (> 1: the model removes noise).
inpaint.<mask>: errors inside the removed region only: mse_hole_recon (one pass),
mse_hole_meanfill (the hole filled with the per-pixel training mean — also what the model
receives), mse_hole_iterative (known pixels re-imposed between inpaint_passes passes).

Train side (evaluate.train_side): the same measures on as many training images
(common.train_side_inputs) with the same noise draws and holes, as `<level>.train.<m>`
and the gap `<level>.gap.<m>` = test − train (> 0: worse on unseen images); n_test and
n_train count the images. Figures show test images only.
"""

from __future__ import annotations

import torch

from .common import (Context, corruption_inputs, global_rng_kept, image_rows_figure, mean,
                     mse_per_sample, reconstruct, save, train_and_gap)


def gaussian(x: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
    return (x + sigma * torch.randn(x.shape, generator=gen)).clamp(0, 1)


def salt_pepper(x: torch.Tensor, rate: float, gen: torch.Generator) -> torch.Tensor:
    """Set a `rate` fraction of pixel positions (all channels together) to 0 or 1."""
    n, _, h, w = x.shape
    hit = torch.rand((n, 1, h, w), generator=gen) < rate  # (N, 1, H, W)
    value = (torch.rand((n, 1, h, w), generator=gen) < 0.5).float()
    return torch.where(hit, value.expand_as(x), x)


def _denoise(ctx: Context, x: torch.Tensor, n_show: int) -> tuple[dict, list, list]:
    """(metrics per level, figure rows, row labels) for images x; the noise comes from the
    task's own stream, so equal-sized inputs get the same draws."""
    p, gen = ctx.params, ctx.generator("denoise")
    levels = [(f"gauss_{s:g}", f"Gaussian σ={s:g}", lambda s=s: gaussian(x, s, gen)) for s in p.noise_sigmas]
    levels += [(f"sp_{r:g}", f"salt & pepper {r:.0%}", lambda r=r: salt_pepper(x, r, gen))
               for r in p.salt_pepper_rates]
    out, rows, labels = {}, [x[:n_show]], ["clean"]
    for key, label, corrupt in levels:
        noisy = corrupt()  # (N, C, H, W)
        recon = reconstruct(ctx, noisy)
        m_noisy, m_recon = mean(mse_per_sample(noisy, x)), mean(mse_per_sample(recon, x))
        out.update({f"{key}.mse_noisy": m_noisy, f"{key}.mse_recon": m_recon,
                    f"{key}.gain": m_noisy / max(m_recon, 1e-12)})
        rows += [noisy[:n_show], recon[:n_show]]
        labels += [label, "→ reconstruction"]
    return out, rows, labels


def run_denoise(ctx: Context) -> dict:
    x = corruption_inputs(ctx)
    test, rows, labels = _denoise(ctx, x, min(ctx.params.n_show, len(x)))
    out = {"n_test": len(x), **test}
    if ctx.params.train_side:
        with global_rng_kept(ctx):
            x_train = corruption_inputs(ctx, "train")
            train, _, _ = _denoise(ctx, x_train, 0)
        out.update({"n_train": len(x_train), **train_and_gap(test, train)})
    save(ctx, image_rows_figure(rows, labels, "Denoising: noisy inputs and their reconstructions"),
         "denoise")
    _denoise_curves(ctx, out)
    return out


def _denoise_curves(ctx: Context, out: dict) -> None:
    import matplotlib.pyplot as plt

    p = ctx.params
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for ax, prefix, levels, xlabel, title in (
            (axes[0], "gauss", p.noise_sigmas, "noise σ (pixel units)", "Gaussian noise"),
            (axes[1], "sp", p.salt_pepper_rates, "fraction of pixels hit", "Salt-and-pepper noise")):
        for what, style in (("mse_noisy", "o--"), ("mse_recon", "s-")):
            ax.plot(levels, [out[f"{prefix}_{v:g}.{what}"] for v in levels], style,
                    label={"mse_noisy": "noisy input", "mse_recon": "reconstruction"}[what])
        ax.set(xlabel=xlabel, ylabel="MSE per pixel vs clean", title=title)
        ax.legend()
    fig.suptitle("Denoising: error against the clean image")
    save(ctx, fig, "denoise_curve")


# ---- inpainting ----

def square_keep_mask(n: int, h: int, w: int, side: int, gen: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) 1 = known pixel, 0 = inside a side×side square at a random position."""
    top = torch.randint(0, h - side + 1, (n,), generator=gen)
    left = torch.randint(0, w - side + 1, (n,), generator=gen)
    rows, cols = torch.arange(h)[None, :], torch.arange(w)[None, :]  # (1, H), (1, W)
    in_r = (rows >= top[:, None]) & (rows < top[:, None] + side)  # (N, H)
    in_c = (cols >= left[:, None]) & (cols < left[:, None] + side)  # (N, W)
    hole = in_r[:, :, None] & in_c[:, None, :]  # (N, H, W)
    return (~hole).float()[:, None]


def top_rows_keep_mask(n: int, h: int, w: int, k: int) -> torch.Tensor:
    keep = torch.ones(n, 1, h, w)
    keep[:, :, :k] = 0
    return keep


def inpaint(ctx: Context, x: torch.Tensor, keep: torch.Tensor, fill: torch.Tensor,
            passes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(masked input, one-pass reconstruction, iterative result or None).

    The iterative variant feeds back its own output with the known pixels restored, so
    the decoder only has to explain the hole (a projection onto the model's manifold)."""
    masked = keep * x + (1 - keep) * fill  # (N, C, H, W)
    recon = reconstruct(ctx, masked)
    if passes == 0:
        return masked, recon, None
    cur = keep * x + (1 - keep) * recon
    for _ in range(passes - 1):
        cur = keep * x + (1 - keep) * reconstruct(ctx, cur)
    return masked, recon, cur


def _masks(ctx: Context, x: torch.Tensor) -> list[tuple[str, str, torch.Tensor, dict]]:
    """(key, label, keep mask (N, 1, H, W), size metrics) for every configured mask of x."""
    p, (n, _, h, w) = ctx.params, x.shape
    gen, out = ctx.generator("inpaint"), []
    for f in p.hole_fractions:
        side = max(1, round(f * min(h, w)))
        out.append((f"square_{f:g}", f"{side}×{side} hole", square_keep_mask(n, h, w, side, gen),
                    {"side_px": side}))
    k = max(1, round(p.top_rows_fraction * h))
    out.append((f"top_rows_{p.top_rows_fraction:g}", f"top {k} rows", top_rows_keep_mask(n, h, w, k),
                {"rows_px": k}))
    return out


def _inpaint(ctx: Context, x: torch.Tensor, passes: int, n_show: int) -> tuple[dict, dict, list, list]:
    """(hole errors per mask, mask sizes, figure rows, row labels) for images x; the hole
    positions come from the task's own stream, so equal-sized inputs get the same holes."""
    fill = ctx.x_train.mean(0, keepdim=True)  # (1, C, H, W) per-pixel training mean
    out, sizes, rows, labels = {}, {}, [x[:n_show]], ["original"]
    for key, label, keep, size in _masks(ctx, x):
        masked, recon, iterated = inpaint(ctx, x, keep, fill, passes)
        hole = 1 - keep
        sizes.update({f"{key}.{k}": v for k, v in size.items()})
        out[f"{key}.mse_hole_recon"] = mean(mse_per_sample(recon, x, hole))
        out[f"{key}.mse_hole_meanfill"] = mean(mse_per_sample(masked, x, hole))
        rows += [masked[:n_show], recon[:n_show]]
        labels += [f"{label} (mean fill)", "→ reconstruction"]
        if iterated is not None:
            out[f"{key}.mse_hole_iterative"] = mean(mse_per_sample(iterated, x, hole))
            rows.append(iterated[:n_show])
            labels.append(f"→ {passes} passes")
    return out, sizes, rows, labels


def run_inpaint(ctx: Context) -> dict:
    p, x = ctx.params, corruption_inputs(ctx)
    passes = p.inpaint_passes
    if passes == 0:
        ctx.skip("inpaint.iterative", "inpaint_passes is 0")
    elif ctx.model.encode_by_optimization:
        passes = 0
        ctx.skip("inpaint.iterative", "encode() optimises z per image: one pass only (cost)")
    test, sizes, rows, labels = _inpaint(ctx, x, passes, min(p.n_show, len(x)))
    out = {"n_test": len(x), **sizes, **test}
    if passes:
        out["iterative_passes"] = passes
    if p.train_side:
        with global_rng_kept(ctx):
            x_train = corruption_inputs(ctx, "train")
            train, _, _, _ = _inpaint(ctx, x_train, passes, 0)
        out.update({"n_train": len(x_train), **train_and_gap(test, train)})
    save(ctx, image_rows_figure(rows, labels, "Inpainting: masked inputs and their reconstructions"),
         "inpaint")
    _inpaint_curve(ctx, out)
    return out


def _inpaint_curve(ctx: Context, out: dict) -> None:
    import matplotlib.pyplot as plt

    fr = ctx.params.hole_fractions
    sides = [out[f"square_{f:g}.side_px"] for f in fr]
    fig, ax = plt.subplots(figsize=(6, 4))
    series = [("mse_hole_meanfill", "o--", "mean-fill baseline"), ("mse_hole_recon", "s-", "reconstruction"),
              ("mse_hole_iterative", "^-", f"iterative ({ctx.params.inpaint_passes} passes)")]
    for what, style, label in series:
        if f"square_{fr[0]:g}.{what}" in out:
            ax.plot(sides, [out[f"square_{f:g}.{what}"] for f in fr], style, label=label)
    ax.set(xlabel="hole side (pixels)", ylabel="MSE per pixel inside the hole",
           title="Inpainting error vs hole size")
    ax.legend()
    save(ctx, fig, "inpaint_curve")
