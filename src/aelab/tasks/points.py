"""Tasks for point clouds (two moons): reconstruction, generation through the decoder, and
held-out test sets at other noise levels (meta extras, e.g. test_noise0.2) without retraining.

Units: mse_per_coord is the squared error per coordinate in the data's own units;
mse_per_coord_standardized is the same in the standardized space the model sees (the
training loss). chamfer: symmetric mean nearest-neighbour Euclidean distance between two
point sets, data units. mmd2: unbiased RBF MMD² (losses.mmd2, bandwidths
evaluate.mmd_bandwidths summed) in standardized units; *_train_vs_test is the same number
for real training points, i.e. the floor a perfect generator would reach.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.contract import from_model_output, to_model_input
from ..losses import mmd2
from .common import Context, codes, mean, mse_per_sample, reconstruct, save, subset, variance_ratio
from .generative import generate_samples


def _errors(ctx: Context, x: torch.Tensor) -> dict:
    """x: (N, D) standardized points → both MSE measures of their reconstructions."""
    r = reconstruct(ctx, x)
    data_x, data_r = (torch.from_numpy(from_model_output(t, ctx.meta)) for t in (x, r))
    return {"mse_per_coord": mean(mse_per_sample(data_r, data_x)),
            "mse_per_coord_standardized": mean(mse_per_sample(r, x)),
            "variance_ratio": variance_ratio(r, x)}


def run_points_reconstruct(ctx: Context) -> dict:
    import matplotlib.pyplot as plt

    out = {f"test.{k}": v for k, v in _errors(ctx, ctx.x_test).items()}
    out.update({f"train.{k}": v for k, v in _errors(ctx, ctx.x_train).items()})
    out["gap.mse_per_coord"] = out["test.mse_per_coord"] - out["train.mse_per_coord"]
    x = from_model_output(ctx.x_test, ctx.meta)
    r = from_model_output(reconstruct(ctx, ctx.x_test), ctx.meta)
    fig, ax = plt.subplots(figsize=(7, 5))
    n = min(200, len(x))  # displacement segments for a readable subset
    ax.plot(np.stack([x[:n, 0], r[:n, 0]]), np.stack([x[:n, 1], r[:n, 1]]), color="0.7", lw=0.6, zorder=1)
    ax.scatter(x[:, 0], x[:, 1], s=8, c="0.55", label="original (test)", zorder=2)
    ax.scatter(r[:, 0], r[:, 1], s=8, c="tab:red", label="reconstruction", zorder=3)
    ax.set(xlabel="x₁", ylabel="x₂", title=f"Test points and their reconstructions — "
           f"MSE {out['test.mse_per_coord']:.4f} per coordinate")
    ax.legend()
    save(ctx, fig, "points_reconstruct")
    return out


def chamfer(a: torch.Tensor, b: torch.Tensor) -> float:
    d = torch.cdist(a.double(), b.double())  # (Na, Nb)
    return 0.5 * float(d.amin(1).mean() + d.amin(0).mean())


def run_points_generate(ctx: Context) -> dict:
    n = ctx.params.n_generate_points
    gen, out, gmm = generate_samples(ctx, n, "points_generate")  # (n, D) standardized
    bw = ctx.params.mmd_bandwidths
    ref = ctx.x_train[:len(ctx.x_test)]
    data = lambda t: torch.from_numpy(from_model_output(t, ctx.meta))  # noqa: E731
    out.update({
        "n_points": n,
        "mmd2": float(mmd2(gen.double(), ctx.x_test.double(), "rbf", bw)),
        "mmd2_train_vs_test": float(mmd2(ref.double(), ctx.x_test.double(), "rbf", bw)),
        "chamfer": chamfer(data(gen), data(ctx.x_test)),
        "chamfer_train_vs_test": chamfer(data(ref), data(ctx.x_test)),
    })
    _generate_figure(ctx, gen, gmm, out)
    return out


def _generate_figure(ctx: Context, gen: torch.Tensor, gmm, out: dict) -> None:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    _codes_panel(ctx, left, gmm)
    t, g = from_model_output(ctx.x_test, ctx.meta), from_model_output(gen, ctx.meta)
    right.scatter(t[:, 0], t[:, 1], s=6, c="0.55", label="test points")
    right.scatter(g[:, 0], g[:, 1], s=6, c="tab:red", alpha=0.6, label="decoded samples")
    right.set(xlabel="x₁", ylabel="x₂", title=f"Generated points — MMD² {out['mmd2']:.4f} "
              f"(floor {out['mmd2_train_vs_test']:.4f}), Chamfer {out['chamfer']:.3f}")
    right.legend()
    save(ctx, fig, "points_generate")


def _codes_panel(ctx: Context, ax, gmm) -> None:
    """Training codes against the sampler: the GMM fitted to them, or the N(0, I) prior."""
    from scipy.stats import norm

    sampler = "N(0, I) prior" if gmm is None else f"{gmm.n_components}-component GMM"
    z_train = codes(ctx, "train").numpy()  # (N_train, latent)
    if z_train.shape[1] == 1:
        ax.hist(z_train[:, 0], bins=50, density=True, alpha=0.5, label="train codes")
        grid = np.linspace(*ax.get_xlim(), 400)
        dens = norm.pdf(grid) if gmm is None else np.exp(gmm.gmm.score_samples(grid[:, None]))
        ax.plot(grid, dens, "k-", label=f"{sampler} density")
        ax.set(xlabel="code z", ylabel="density")
    else:
        # codes drawn from the sampler, for display only (the same distribution the points used)
        drawn = (ctx.rng("points_codes").standard_normal((len(z_train), z_train.shape[1])) if gmm is None
                 else gmm.sample(len(z_train), ctx.seed("points_codes")))
        ax.scatter(z_train[:, 0], z_train[:, 1], s=5, alpha=0.4, label="train codes")
        ax.scatter(drawn[:, 0], drawn[:, 1], s=5, alpha=0.4, c="tab:red", label=f"draws from the {sampler}")
        ax.set(xlabel="z[0]", ylabel="z[1]")
    ax.set_title("Codes and the sampler")
    ax.legend()


def heldout_sets(ctx: Context) -> dict[str, np.ndarray]:
    """Extra held-out arrays of the processed file, e.g. {'test_noise0.2': (N, D)}."""
    return {k[2:]: v for k, v in sorted(ctx.data.extras.items()) if k.startswith("x_")}


def run_points_heldout(ctx: Context) -> dict:
    import matplotlib.pyplot as plt

    sets = heldout_sets(ctx)
    out: dict = {}
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.8), squeeze=False)
    for ax, (name, arr) in zip(axes[0], sets.items()):
        idx = subset(len(arr), ctx.params.max_test, ctx.rng(f"heldout/{name}"))
        x = to_model_input(arr[idx], ctx.meta)  # train statistics standardize every set
        out.update({f"{name}.{k}": v for k, v in _errors(ctx, x).items()})
        out[f"{name}.n"] = len(idx)
        xd, rd = from_model_output(x, ctx.meta), from_model_output(reconstruct(ctx, x), ctx.meta)
        ax.scatter(xd[:, 0], xd[:, 1], s=6, c="0.55", label="held-out points")
        ax.scatter(rd[:, 0], rd[:, 1], s=6, c="tab:red", label="reconstruction")
        ax.set(xlabel="x₁", ylabel="x₂", title=f"{name}: MSE {out[f'{name}.mse_per_coord']:.4f} per coordinate")
        ax.legend()
    fig.suptitle("Held-out test sets, same model (no retraining)")
    save(ctx, fig, "points_heldout")
    return out
