"""Figures of study_digits (numbers and arrays come from digits.analyse, as a DigitsResult)."""

from __future__ import annotations

import numpy as np
import torch

from .digits import DigitsResult


def curves_figure(res: DigitsResult):
    """(a) reconstruction MSE vs bottleneck; (b) RF accuracy on originals vs reconstructions;
    (c) the RF's class histogram of GMM-synthetic digits per bottleneck."""
    import matplotlib.pyplot as plt

    per = [res.numbers(r) for r in res.rows]
    k = [r.bottleneck for r in res.rows]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(17, 4.5), layout="constrained")
    a.plot(k, [m["test_mse_per_pixel"] for m in per], "o-", label="test")
    a.plot(k, [m["train_mse_per_pixel"] for m in per], "s--", label="train")
    ev = [(kk, m["eval_reconstruct_test_mse_per_pixel"]) for kk, m in zip(k, per)
          if "eval_reconstruct_test_mse_per_pixel" in m]
    if ev:
        a.plot(*zip(*ev), "x", ms=9, color="k", label="evaluate@ (test subset)")
    a.set(xlabel="bottleneck size", ylabel="MSE per pixel", xticks=k, title="Reconstruction error")
    a.legend()
    rf = [m["rf"] for m in per]
    if all("accuracy_originals" in r for r in rf):
        b.plot(k, [r["accuracy_originals"] for r in rf], "k:", label="test originals")
        b.plot(k, [r["accuracy_reconstructions"] for r in rf], "o-", label="test reconstructions")
        b.plot(k, [r["agreement"] for r in rf], "s--", label="agreement original/recon.")
        b.set(ylim=(0, 1.02))
        classes = list(rf[0]["samples_class_fraction"])
        width = 0.8 / len(rf)
        for i, (kk, r) in enumerate(zip(k, rf)):
            c.bar(np.arange(len(classes)) + (i - (len(rf) - 1) / 2) * width,
                  list(r["samples_class_fraction"].values()), width,
                  label=f"z={kk}: mean max-p {r['samples_mean_max_prob']:.2f}")
        c.set_xticks(range(len(classes)), classes)
        c.axhline(1 / len(classes), color="0.4", ls=":", label="uniform")
        c.legend(fontsize=8)
    b.set(xlabel="bottleneck size", ylabel="accuracy", xticks=k, title="Random forest (fitted on originals)")
    b.legend()
    c.set(xlabel="class predicted by the forest", ylabel="fraction of samples",
          title="Forest's verdict on GMM-synthetic digits")
    fig.suptitle("sklearn digits: bottleneck size")
    return fig


def recon_figure(res: DigitsResult):
    from ..tasks.common import image_rows_figure

    labels = ["original"] + [f"z={r.bottleneck}: MSE {res.numbers(r)['test_mse_per_pixel']:.4f}"
                             for r in res.rows]
    return image_rows_figure([res.x_show] + [r.recon for r in res.rows], labels,
                             "Test digits and their reconstructions per bottleneck size")


def samples_figure(res: DigitsResult):
    from ..tasks.common import image_rows_figure

    labels = []
    for r in res.rows:
        rf = res.numbers(r)["rf"]
        verdict = f", RF max-p {rf['samples_mean_max_prob']:.2f}" if "samples_mean_max_prob" in rf else ""
        labels.append(f"z={r.bottleneck}{verdict}")
    return image_rows_figure([torch.as_tensor(r.samples) for r in res.rows], labels,
                             "GMM-synthetic digits (the samples classify@ judged)")


def codes_figure(res: DigitsResult):
    """Test codes coloured by label: 2-D codes as they are, larger ones by PCA (2 comps)."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    n = len(res.rows)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.6), squeeze=False, layout="constrained")
    for ax, r in zip(axes[0], res.rows):
        z, k = r.codes, r.bottleneck
        if z.shape[1] > 2:
            pca = PCA(2, random_state=0).fit(z)
            z = pca.transform(z)
            how = f"PCA of {k}-D codes ({pca.explained_variance_ratio_.sum():.0%} of variance)"
        else:
            how = f"{k}-D codes"
        sc = ax.scatter(z[:, 0], z[:, 1], c=res.y_test, cmap="tab10", s=7, vmin=-0.5, vmax=9.5)
        ax.set(title=f"z={k}: {how}", xlabel="code 1", ylabel="code 2")
    fig.colorbar(sc, ax=axes[0][-1], ticks=range(10), label="digit")
    fig.suptitle("Test codes coloured by label")
    return fig
