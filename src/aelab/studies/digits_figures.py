"""Figures of study_digits (numbers come from digits.analyse)."""

from __future__ import annotations

import numpy as np
import torch


def curves_figure(per: dict):
    """(a) reconstruction MSE vs bottleneck; (b) RF accuracy on originals vs reconstructions;
    (c) the RF's class histogram of GMM-synthetic digits per bottleneck."""
    import matplotlib.pyplot as plt

    names = list(per)
    k = [per[n]["bottleneck"] for n in names]
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(17, 4.5), layout="constrained")
    a.plot(k, [per[n]["test_mse_per_pixel"] for n in names], "o-", label="test")
    a.plot(k, [per[n]["train_mse_per_pixel"] for n in names], "s--", label="train")
    ev = [(kk, per[n]["eval_reconstruct_test_mse_per_pixel"]) for kk, n in zip(k, names)
          if "eval_reconstruct_test_mse_per_pixel" in per[n]]
    if ev:
        a.plot(*zip(*ev), "x", ms=9, color="k", label="evaluate@ (test subset)")
    a.set(xlabel="bottleneck size", ylabel="MSE per pixel", xticks=k, title="Reconstruction error")
    a.legend()
    rf = [per[n]["rf"] for n in names]
    if all("accuracy_originals" in r for r in rf):
        b.plot(k, [r["accuracy_originals"] for r in rf], "k:", label="test originals")
        b.plot(k, [r["accuracy_reconstructions"] for r in rf], "o-", label="test reconstructions")
        b.plot(k, [r["agreement"] for r in rf], "s--", label="agreement original/recon.")
        b.set(ylim=(0, 1.02))
        classes = list(rf[0]["samples_class_fraction"])
        width = 0.8 / len(names)
        for i, (n, r) in enumerate(zip(names, rf)):
            c.bar(np.arange(len(classes)) + (i - (len(names) - 1) / 2) * width,
                  list(r["samples_class_fraction"].values()), width,
                  label=f"z={per[n]['bottleneck']}: mean max-p {r['samples_mean_max_prob']:.2f}")
        c.set_xticks(range(len(classes)), classes)
        c.axhline(1 / len(classes), color="0.4", ls=":", label="uniform")
        c.legend(fontsize=8)
    b.set(xlabel="bottleneck size", ylabel="accuracy", xticks=k, title="Random forest (fitted on originals)")
    b.legend()
    c.set(xlabel="class predicted by the forest", ylabel="fraction of samples",
          title="Forest's verdict on GMM-synthetic digits")
    fig.suptitle("sklearn digits: bottleneck size")
    return fig


def recon_figure(figs: dict, per: dict):
    from ..tasks.common import image_rows_figure

    rows = [figs["x_show"]] + list(figs["rows"].values())
    labels = ["original"] + [f"z={per[n]['bottleneck']}: MSE {per[n]['test_mse_per_pixel']:.4f}"
                             for n in figs["rows"]]
    return image_rows_figure(rows, labels, "Test digits and their reconstructions per bottleneck size")


def samples_figure(figs: dict, per: dict):
    from ..tasks.common import image_rows_figure

    labels = []
    for n in figs["samples"]:
        r = per[n]["rf"]
        verdict = (f", RF max-p {r['samples_mean_max_prob']:.2f}" if "samples_mean_max_prob" in r else "")
        labels.append(f"z={per[n]['bottleneck']}{verdict}")
    return image_rows_figure([torch.as_tensor(s) for s in figs["samples"].values()], labels,
                             "GMM-synthetic digits (the samples classify@ judged)")


def codes_figure(figs: dict, per: dict):
    """Test codes coloured by label: 2-D codes as they are, larger ones by PCA (2 comps)."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    n = len(figs["codes"])
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.6), squeeze=False, layout="constrained")
    y = figs["y_test"]
    for ax, (name, z) in zip(axes[0], figs["codes"].items()):
        k = z.shape[1]
        if k > 2:
            pca = PCA(2, random_state=0).fit(z)
            z = pca.transform(z)
            how = f"PCA of {k}-D codes ({pca.explained_variance_ratio_.sum():.0%} of variance)"
        else:
            how = f"{k}-D codes"
        sc = ax.scatter(z[:, 0], z[:, 1], c=y, cmap="tab10", s=7, vmin=-0.5, vmax=9.5)
        ax.set(title=f"z={per[name]['bottleneck']}: {how}", xlabel="code 1", ylabel="code 2")
    fig.colorbar(sc, ax=axes[0][-1], ticks=range(10), label="digit")
    fig.suptitle("Test codes coloured by label")
    return fig
