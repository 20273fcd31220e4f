"""Figures of study_moons_mmd (numbers and arrays come from studies.mmd, as an MmdResult)."""

from __future__ import annotations

import numpy as np

from .mmd import MmdResult


def comparison_figure(res: MmdResult):
    """(a) reconstructions of both models; (b) MMD-AE test codes vs N(0, I);
    (c) synthetic points of both models against the test points (data units)."""
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(17, 5), layout="constrained")
    m, x_test, f_mmd, f_ref = res.metrics, res.x_test, res.mmd_ae, res.reference
    mm, mr = m["mmd_ae"], m["reference_ae"]
    a.scatter(*x_test.T, s=4, c="0.8", label="test original")
    a.scatter(*f_ref.rec.T, s=4, c="tab:blue", label=f"{m['reference']} (MSE {mr['test_mse']:.4f})")
    a.scatter(*f_mmd.rec.T, s=4, c="tab:red", label=f"{m['variant']} (MSE {mm['test_mse']:.4f})")
    a.set(xlabel="x₁", ylabel="x₂", title=f"Reconstructions: error ratio MMD-AE / AE-z1 = "
          f"{m['mse_ratio_mmd_to_reference']:.3f}")
    a.legend(fontsize=8, loc="lower left")
    z = f_mmd.z
    b.scatter(z[:, 0], z[:, 1], s=4, c="tab:red", alpha=0.6, label="test codes")
    t = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2, 3):
        b.plot(r * np.cos(t), r * np.sin(t), color="k", lw=0.8, ls=":",
               label="N(0, I) 1σ/2σ/3σ circles" if r == 1 else None)
    b.set_aspect("equal")
    b.set(xlabel="code 1", ylabel="code 2", title=f"MMD-AE codes vs N(0, I): MMD² {mm['code_mmd2_vs_normal']:.2e}"
          f"\n(two N(0, I) samples: {mm['code_mmd2_floor_normal_vs_normal']:.1e})")
    b.legend(fontsize=8, loc="lower left")
    c.scatter(*x_test.T, s=4, c="0.8", label="test original")
    c.scatter(*f_ref.syn.T, s=4, c="tab:blue",
              label=f"AE-z1, GMM codes: MMD² {mr['synthetic_mmd2_vs_test']:.1e}")
    c.scatter(*f_mmd.syn.T, s=4, c="tab:red",
              label=f"MMD-AE, N(0, I) codes: MMD² {mm['synthetic_mmd2_vs_test']:.1e}")
    c.set(xlabel="x₁", ylabel="x₂", title=f"Synthetic points (real-sample floor "
          f"{m['synthetic_mmd2_floor_real_vs_test']:.1e})")
    c.legend(fontsize=8, loc="lower left")
    fig.suptitle("Two moons: MMD autoencoder (latent 2) vs bottleneck-1 autoencoder")
    return fig


def grid_figure(g: dict, cfg):
    """Heatmaps per kernel: rows = number of bandwidths, columns = λ; test MSE and code MMD²."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    nbw = [len(b) for b in cfg.bandwidth_sets]
    fig, axes = plt.subplots(2, len(cfg.kernels), figsize=(5.5 * len(cfg.kernels), 8.5),
                             squeeze=False, layout="constrained")
    for j, kernel in enumerate(cfg.kernels):
        for i, (key, what) in enumerate((("test_mse", "test MSE per coordinate"),
                                         ("code_mmd2_vs_normal", "code MMD² vs N(0, I)"))):
            table = np.full((len(nbw), len(cfg.lams)), np.nan)
            for r, n in enumerate(nbw):
                for c, lam in enumerate(cfg.lams):
                    row = g.get(f"{kernel}/{n}bw/lam{lam:g}", {})
                    table[r, c] = row.get(key, np.nan)
            sns.heatmap(table, ax=axes[i][j], annot=True, fmt=".2g", cmap="viridis_r",
                        xticklabels=[f"{lam:g}" for lam in cfg.lams], yticklabels=nbw)
            axes[i][j].set(xlabel="λ (weight of MMD²)", ylabel="number of bandwidths",
                           title=f"{kernel}: {what}")
    fig.suptitle(f"MMD-AE grid ({cfg.grid_n_train} points, {cfg.grid_epochs} epochs; blank = diverged)")
    return fig
