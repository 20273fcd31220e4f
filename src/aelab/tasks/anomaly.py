"""anomaly: reconstruction error as an out-of-distribution score.

score = MSE per pixel between an image and its reconstruction. The in-distribution test
subset is scored against an equally large subset of another processed dataset (OOD,
positive class), converted to the model's input shape. auroc = P(score_ood > score_in)
(0.5 = chance, 1 = perfect separation); fpr_at_95tpr = fraction of in-distribution images
flagged when the threshold catches 95% of the OOD images. Both carry `_n` and a 95%
interval (`_lo`, `_hi`): a stratified bootstrap for AUROC, Wilson for the rate.

Train side (evaluate.train_side): the same against the same OOD images with as many
training images (common.train_side_inputs) as the in-distribution set: train.auroc,
train.fpr_at_95tpr (each with _n, _lo, _hi), train.n_in, train.score_in_mean, and the gaps
test − train (gap.auroc, gap.fpr_at_95tpr, gap.score_in_mean; no interval). A model that
memorised its training images scores them lower, so its train AUROC is higher (gap < 0).
The figures show the test set only.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.contract import to_model_input
from .common import (Context, TaskSkipped, global_rng_kept, mse_per_sample, reconstruct, save, subset,
                     train_and_gap, train_side_inputs)

GAPS = ("auroc", "fpr_at_95tpr", "score_in_mean")  # test − train; sizes and interval ends have none
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights for RGB → gray


def convert_images(x: torch.Tensor, shape: tuple[int, int, int], tint=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] → (N, C', H', W') of `shape`: bilinear antialiased
    resize, gray → RGB by repeating times `tint`, RGB → gray by luminance."""
    c, h, w = shape
    if x.shape[-2:] != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    if x.shape[1] == 1 and c == 3:
        x = x.repeat(1, 3, 1, 1) * torch.tensor(tint, dtype=x.dtype)[None, :, None, None]
    elif x.shape[1] == 3 and c == 1:
        x = (x * torch.tensor(LUMA, dtype=x.dtype)[None, :, None, None]).sum(1, keepdim=True)
    elif x.shape[1] != c:
        raise ValueError(f"cannot convert {x.shape[1]} channels to {c}")
    return x.clamp(0, 1)


def ood_images(ctx: Context) -> torch.Tensor:
    """The OOD test subset (as many as the in-distribution subset), in the model's shape."""
    if ctx.ood is None:
        raise TaskSkipped(ctx.ood_reason)
    if ctx.ood.kind != "image":
        raise TaskSkipped(f"OOD dataset {ctx.ood_name!r} holds {ctx.ood.kind}, not images")
    idx = subset(len(ctx.ood.x_test), len(ctx.x_test), ctx.rng("anomaly"))
    x = to_model_input(ctx.ood.x_test[idx], ctx.ood.meta)  # (N, C_ood, H_ood, W_ood)
    return convert_images(x, tuple(ctx.x_test.shape[1:]), ctx.params.ood_tint)


def separation(ctx: Context, s_in: np.ndarray, s_ood: np.ndarray) -> dict:
    """AUROC and FPR at 95% TPR (with _n and 95% intervals), n_in and score_in_mean of
    in-distribution scores s_in against OOD scores s_ood."""
    from sklearn.metrics import roc_curve

    from ..stats import auroc_entry, rate_entry

    labels = np.r_[np.zeros(len(s_in)), np.ones(len(s_ood))]
    scores = np.r_[s_in, s_ood]
    _, tpr, thr = roc_curve(labels, scores)
    cut = thr[np.searchsorted(tpr, 0.95)]  # the highest threshold catching 95% of OOD images
    return {"n_in": len(s_in), **auroc_entry("auroc", labels, scores, ctx.seed("anomaly")),
            **rate_entry("fpr_at_95tpr", s_in >= cut), "score_in_mean": float(s_in.mean())}


def run_anomaly(ctx: Context) -> dict:
    x_ood = ood_images(ctx)
    rec_in, rec_ood = reconstruct(ctx, ctx.x_test), reconstruct(ctx, x_ood)
    s_in = mse_per_sample(rec_in, ctx.x_test).numpy()  # (N_in,)
    s_ood = mse_per_sample(rec_ood, x_ood).numpy()  # (N_ood,)
    test = separation(ctx, s_in, s_ood)
    out = {"ood_dataset": ctx.ood_name, "score_units": "MSE/pixel", "n_ood": len(s_ood), **test,
           "score_ood_mean": float(s_ood.mean())}
    if ctx.params.train_side:
        with global_rng_kept(ctx):
            x_train = train_side_inputs(ctx)
            s_train = mse_per_sample(reconstruct(ctx, x_train), x_train).numpy()  # (N_train,)
        out.update(train_and_gap(test, separation(ctx, s_train, s_ood), GAPS))
    _histogram(ctx, s_in, s_ood, out["auroc"])
    _demo(ctx, x_ood, rec_in, rec_ood, s_in, s_ood)
    return out


def _histogram(ctx: Context, s_in: np.ndarray, s_ood: np.ndarray, auroc: float) -> None:
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    df = pd.DataFrame({"score": np.r_[s_in, s_ood],
                       "data": [f"{ctx.meta['name']} (in-distribution)"] * len(s_in)
                       + [f"{ctx.ood_name} (OOD)"] * len(s_ood)})
    fig, ax = plt.subplots(figsize=(7, 4))
    log = bool((df.score > 0).all())  # errors span decades; a log axis needs positive values
    sns.histplot(df, x="score", hue="data", bins=40, log_scale=log, element="step",
                 stat="density", common_norm=False, ax=ax)
    ax.set(xlabel="reconstruction error (MSE per pixel)" + (", log scale" if log else ""),
           ylabel="density", title=f"Anomaly scores — AUROC {auroc:.3f}")
    save(ctx, fig, "anomaly_scores")


def _demo(ctx: Context, x_ood, rec_in, rec_ood, s_in, s_ood) -> None:
    """One typical image of each set: input, reconstruction, squared-error map."""
    import matplotlib.pyplot as plt

    i, j = int(np.argsort(s_in)[len(s_in) // 2]), int(np.argsort(s_ood)[len(s_ood) // 2])  # medians
    thr = np.quantile(s_in, 0.95)
    fig, axes = plt.subplots(2, 3, figsize=(8, 5.6))
    for row, (name, x, r, s) in enumerate((("in-distribution", ctx.x_test[i], rec_in[i], s_in[i]),
                                           (f"OOD ({ctx.ood_name})", x_ood[j], rec_ood[j], s_ood[j]))):
        err = (r.clamp(0, 1) - x).pow(2).mean(0)  # (H, W) squared error averaged over channels
        flag = "flagged" if s > thr else "not flagged"
        axes[row, 0].imshow(_hwc(x), cmap="gray", vmin=0, vmax=1)
        axes[row, 0].set_title(f"{name}: input", fontsize=9)
        axes[row, 1].imshow(_hwc(r), cmap="gray", vmin=0, vmax=1)
        axes[row, 1].set_title(f"reconstruction\nscore {s:.4f} ({flag})", fontsize=9)
        im = axes[row, 2].imshow(err.numpy(), cmap="magma", vmin=0)
        axes[row, 2].set_title("squared error", fontsize=9)
        fig.colorbar(im, ax=axes[row, 2], fraction=0.046)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.suptitle(f"Median-score image of each set; threshold = 95th percentile of "
                 f"in-distribution scores ({thr:.4f})", fontsize=10)
    save(ctx, fig, "anomaly_demo")


def _hwc(x: torch.Tensor) -> np.ndarray:
    x = x.clamp(0, 1)
    return x[0].numpy() if x.shape[0] == 1 else x.permute(1, 2, 0).numpy()
