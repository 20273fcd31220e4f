"""Figures of study_moons (numbers come from moons_study; nothing is computed here)."""

from __future__ import annotations

import numpy as np

from .moons_study import CodesArrays, NoiseArrays


def spread_figure(m: dict, s):
    """Test MSE of the adopted setting over model seeds and over datasets, and of the sweeps'
    base setting over the same model seeds (dots + mean ± std)."""
    import matplotlib.pyplot as plt

    groups = [(key, name) for key, name in (("model_seeds", "adopted, model seeds,\nsame data"),
                                            ("data_seeds", "adopted, data seeds,\nmodel seed fixed"),
                                            ("base_model_seeds", "base setting,\nsame model seeds"))
              if key in m]
    fig, ax = plt.subplots(figsize=(7.5, 4.4), layout="constrained")
    for i, (key, name) in enumerate(groups):
        v = np.asarray(m[key]["values"])
        jitter = np.linspace(-0.08, 0.08, len(v))
        ax.scatter(i + jitter, v, s=25, alpha=0.7, color=f"C{i}")
        ax.errorbar(i + 0.22, m[key]["mean"], yerr=m[key]["std"], fmt="D", capsize=5, color=f"C{i}",
                    label=f"{name.split(',')[0]}, {name.split(',')[1].strip()}: "
                          f"{m[key]['mean']:.4f} ± {m[key]['std']:.4f}")
    ax.set_xticks(range(len(groups)), [name for _, name in groups])
    ax.set_xlim(-0.5, len(groups) - 0.4)
    vs = m.get("vs_base")
    verdict = (f"\nadopted vs base: {vs['verdict']} (ratio {vs['ratio']:.2f}, Welch p {vs['welch_p']:.2g})"
               if vs and vs.get("welch_p") is not None else "")
    ax.set(ylabel="test MSE per coordinate (standardized)",
           title=f"Adopted setting (hidden {s.hidden_size}, layers {s.layers}, lr {s.lr:g}, "
                 f"{s.lr_schedule}){verdict}")
    ax.legend(fontsize=8)
    return fig


def gmm_figure(d: CodesArrays, m: dict):
    """Left: 1-D code histogram + GMM density (+ components). Right: synthetic vs test points."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    z, gmm = d.z, d.gmm
    a.hist(z, bins=60, density=True, color="0.75", label="training codes")
    grid = np.linspace(z.min() - 0.1 * np.ptp(z), z.max() + 0.1 * np.ptp(z), 400)
    a.plot(grid, np.exp(gmm.gmm.score_samples(grid[:, None])), color="tab:red", lw=2,
           label=f"GMM, {m['gmm_components']} components (BIC)")
    for w, mu, c in zip(gmm.weights, gmm.means[:, 0], gmm.chol[:, 0, 0]):
        a.plot(grid, w * np.exp(-0.5 * ((grid - mu) / c) ** 2) / (c * np.sqrt(2 * np.pi)),
               color="tab:red", lw=0.8, ls="--")
    a.set(xlabel="code z (1-D bottleneck)", ylabel="density", title="Code distribution and its GMM")
    a.legend(fontsize=8)
    b.scatter(*d.test.T, s=5, c="0.75", label="test originals")
    b.scatter(*d.syn.T, s=5, c="tab:purple", label="synthetic (GMM codes → decoder)")
    b.set(xlabel="x₁", ylabel="x₂", title=f"Synthetic points: MMD² to test {m['mmd2_synthetic_vs_test']:.2e} "
          f"(real-sample floor {m['mmd2_floor_real_vs_test']:.1e})")
    b.legend(fontsize=8, loc="lower left")
    return fig


def noise_figure(d: NoiseArrays, m: dict):
    """Reconstructions at the training noise and a higher test noise; decoded curves of the
    models trained at both noises against the noiseless moons."""
    import matplotlib.pyplot as plt

    k1, k2, tn = d.key_base, d.key_noisy, d.test_noise
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), sharex=True, sharey=True, layout="constrained")
    n1 = k1.split("_")[-1]
    for ax, x, r, title in ((axes[0], d.test, d.recon, f"test noise {n1} (MSE {d.mse_clean:.4f})"),
                            (axes[1], d.noisy, d.noisy_recon,
                             f"test noise {tn:g}, not retrained (MSE {d.mse_noisy:.4f})")):
        ax.scatter(*x.T, s=4, c="0.75", label="test original")
        ax.scatter(*r.T, s=4, c="tab:red", label="reconstruction")
        ax.set(title=f"Trained at noise {n1}, {title}", xlabel="x₁")
        ax.legend(fontsize=8, loc="lower left")
    ax = axes[2]
    ax.plot(*d.curve.T, ".", ms=1.5, c="k", label="noiseless moons")
    for c, key, color in ((d.decoded_base, k1, "tab:red"), (d.decoded_noisy, k2, "tab:blue")):
        ax.plot(*c.T, color=color, lw=1.8,
                label=f"decoded curve, {key.replace('_', ' ')} (dist {m['curve_dist_to_noiseless_moons'][key]:.3f})")
    ax.set(title=f"Decoded curves: Chamfer distance {m['chamfer_between_decoded_curves']:.3f}", xlabel="x₁")
    ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("x₂")
    fig.suptitle("Two moons, bottleneck 1: effect of noise (distances in data units)")
    return fig
