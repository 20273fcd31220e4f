"""The one comparison figure of study_fmnist_ae_vs_vae (numbers and arrays come from ae_vs_vae,
as an AeVsVaeResult)."""

from __future__ import annotations

import numpy as np
import torch

from .ae_vs_vae import AeVsVaeResult


def _grid(images: list[torch.Tensor], nrow: int) -> np.ndarray:
    """(n, C, H, W) tensors in [0, 1] → one (H', W', 3) picture, white padding."""
    from torchvision.utils import make_grid

    g = make_grid(torch.cat(images).clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    return g.permute(1, 2, 0).numpy()


def _rows(ax, rows: list[torch.Tensor], labels: list[str], title: str) -> None:
    n, h = rows[0].shape[0], rows[0].shape[-2]
    ax.imshow(_grid(rows, n), interpolation="nearest")
    ax.grid(False)
    ax.set_yticks([2 + i * (h + 2) + h / 2 for i in range(len(rows))], labels)
    ax.set_xticks([])
    ax.set_title(title)


def comparison_figure(res: AeVsVaeResult):
    import matplotlib.pyplot as plt

    ae, vae, m = res.ae, res.vae, res.metrics
    k = m["passes"]
    fig = plt.figure(figsize=(16, 13), layout="constrained")
    gs = fig.add_gridspec(2, 3, height_ratios=[1.3, 1])
    ax = fig.add_subplot(gs[0, :])
    ma, mv = m["ae"], m["vae"]
    rows = [res.x_show, ae.rec, vae.rec]
    labels = ["original", f"AE  (BCE {ma['test_bce_nats_per_image']:.1f})",
              f"VAE, mean code (BCE {mv['test_bce_nats_per_image']:.1f})"]
    if vae.sampled is not None:
        rows.append(vae.sampled)
        labels.append(f"VAE, sampled code (BCE {mv['sampled_recon_bce_nats_per_image']:.1f})")
    rows += [ae.last, vae.last]
    labels += [f"AE after {k} passes (drift {ma['consistency'][f'drift_mse_after_{k}']:.4f})",
               f"VAE after {k} passes (drift {mv['consistency'][f'drift_mse_after_{k}']:.4f})"]
    _rows(ax, rows, labels, "Reconstructions (BCE in nats/image) and repeated encode→decode (drift: MSE/pixel vs 1st pass)")
    for j, (role, f) in enumerate((("AE", ae), ("VAE", vae))):
        a = fig.add_subplot(gs[1, j])
        for c, label in enumerate(res.class_names):
            sel = res.y == c
            a.scatter(f.z[sel, 0], f.z[sel, 1], s=3, alpha=0.6, label=label)
        knn = m[role.lower()]["latent_knn5_accuracy"]
        a.set(xlabel="code 1", ylabel="code 2", title=f"{role} test codes by label (5-NN accuracy {knn:.3f})")
        if j == 0:
            a.legend(fontsize=7, markerscale=3, loc="best")
    a = fig.add_subplot(gs[1, 2])
    if vae.samples is not None:
        a.imshow(_grid([vae.samples], nrow=5), interpolation="nearest")
        a.set_title(f"{len(vae.samples)} VAE samples from N(0, I)")
    a.axis("off")
    fig.suptitle(f"Binarized Fashion-MNIST: {ma['variant']} vs {mv['variant']} ({m['n_test']} test images)")
    return fig
