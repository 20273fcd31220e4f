"""generate and interpolate, and the code samplers they share.

A model with a prior (VAE/MMD/GAN; an RBM's Gibbs chain) is sampled by its own
model.sample(), i.e. N(0, I) through the decoder. A plain autoencoder has no
prior, so codes come from a Gaussian mixture fitted to its training codes (sklearn,
full covariance, n_components chosen by BIC among evaluate.gmm_components, random_state
set); `generate.sampler` records which one made the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .common import Context, codes, decode, encode, image_rows_figure, mean, prior_samples, save


@dataclass
class CodeGMM:
    """A Gaussian mixture over codes with a seeded sampler of its own (reproducible)."""

    weights: np.ndarray  # (K,)
    means: np.ndarray  # (K, D)
    chol: np.ndarray  # (K, D, D) Cholesky factors of the covariances
    gmm: object  # the fitted sklearn GaussianMixture (score_samples for density overlays)
    bic: dict[int, float]  # candidate n_components → BIC (lower is better)

    @property
    def n_components(self) -> int:
        return len(self.weights)

    @classmethod
    def fit(cls, z: np.ndarray, candidates, seed: int) -> "CodeGMM":
        from sklearn.mixture import GaussianMixture

        z = np.asarray(z, dtype=np.float64)  # (N, D)
        fits, bic = {}, {}
        for k in sorted({k for k in candidates if k <= len(z)}) or [1]:
            g = GaussianMixture(k, covariance_type="full", reg_covar=1e-5, random_state=seed).fit(z)
            fits[k], bic[k] = g, float(g.bic(z))
        g = fits[min(bic, key=bic.get)]
        return cls(g.weights_, g.means_, np.linalg.cholesky(g.covariances_), g, bic)

    def sample(self, n: int, seed: int) -> np.ndarray:
        """(n, D) float32 codes; the same seed gives the same codes."""
        rng = np.random.default_rng(seed)
        comp = rng.choice(self.n_components, size=n, p=self.weights / self.weights.sum())
        eps = rng.standard_normal((n, self.means.shape[1]))
        z = self.means[comp] + np.einsum("nij,nj->ni", self.chol[comp], eps)
        return z.astype(np.float32)


def fit_code_gmm(ctx: Context, task: str) -> tuple[CodeGMM, dict]:
    """The GMM over training codes and the metrics that describe it."""
    z_train = codes(ctx, "train").numpy()  # (N_train, latent)
    gmm = CodeGMM.fit(z_train, ctx.params.gmm_components, ctx.seed(task))
    return gmm, {"sampler": "gmm", "gmm_components": gmm.n_components,
                 "gmm_bic": gmm.bic[gmm.n_components], "gmm_fit_codes": len(z_train)}


def generate_samples(ctx: Context, n: int, task: str) -> tuple[torch.Tensor, dict, CodeGMM | None]:
    """(n decoded samples (n, *shape), metrics naming the sampler, the GMM if one was fitted)."""
    if ctx.model.has_prior:
        return prior_samples(ctx, n, task), {"sampler": "prior"}, None
    gmm, info = fit_code_gmm(ctx, task)
    return decode(ctx, torch.from_numpy(gmm.sample(n, ctx.seed(task)))), info, gmm


def run_generate(ctx: Context) -> dict:
    n = ctx.params.n_samples
    x, out, _ = generate_samples(ctx, n, "generate")  # (n, C, H, W)
    # distance to the closest training image: ~0 means copying, large means off-manifold
    d2 = torch.cdist(x.flatten(1), ctx.x_train.flatten(1)).pow(2).amin(1) / x[0].numel()
    out.update({"n_samples": n, "nearest_train_mse_per_pixel": mean(d2)})
    how = ("the model's prior" if out["sampler"] == "prior" else
           f"a {out['gmm_components']}-component GMM fitted to training codes")
    per_row = min(10, n)
    padded = torch.cat([x, torch.ones(-n % per_row, *x.shape[1:])])  # white tiles fill the last row
    rows = list(padded.split(per_row))
    fig = image_rows_figure(rows, [f"samples {i * per_row + 1}–{min(n, (i + 1) * per_row)}"
                                   for i in range(len(rows))], f"{n} samples drawn from {how}")
    save(ctx, fig, "generate")
    if ctx.model.latent_dim == 2:
        out["latent_grid"] = _latent_grid(ctx)
    else:
        ctx.skip("generate.latent_grid", f"latent is {ctx.model.latent_dim}-D, the grid needs 2-D")
    return out


def amortized_encoder(model) -> bool:
    """An encoder network (not none, not a per-image optimisation)."""
    return model.has_encoder and not model.encode_by_optimization


def _latent_grid(ctx: Context) -> str:
    """Decode a side×side grid of 2-D codes (as in the Keras VAE example's plot_latent_space):
    the 1st–99th percentile range of train codes, or Gaussian quantiles 5–95% for a model
    without an encoder network (a GAN)."""
    import matplotlib.pyplot as plt
    from scipy.stats import norm
    from torchvision.utils import make_grid

    side = ctx.params.latent_grid_side
    if amortized_encoder(ctx.model):
        z_train = codes(ctx, "train").numpy()  # (N_train, 2)
        axes = [np.linspace(*np.percentile(z_train[:, d], [1, 99]), side) for d in range(2)]
        source = "train code range 1-99th percentile"
    else:
        axes = [norm.ppf(np.linspace(0.05, 0.95, side))] * 2
        source = "N(0, 1) quantiles 5-95%"
    z1, z0 = np.meshgrid(axes[1][::-1], axes[0], indexing="ij")  # rows: z[1] descending
    z = torch.tensor(np.stack([z0.ravel(), z1.ravel()], 1), dtype=torch.float32)
    imgs = decode(ctx, z).clamp(0, 1)  # (side², C, H, W)
    grid = make_grid(imgs, nrow=side, padding=0)  # (3, side·H, side·W)
    h, w = imgs.shape[-2:]
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.grid(False)
    step = max(1, side // 7)
    ax.set_xticks([(i + 0.5) * w for i in range(0, side, step)], [f"{v:.2f}" for v in axes[0][::step]])
    ax.set_yticks([(i + 0.5) * h for i in range(0, side, step)], [f"{v:.2f}" for v in axes[1][::-1][::step]])
    ax.set(xlabel="z[0]", ylabel="z[1]", title=f"Decoded 2-D latent grid ({source})")
    save(ctx, fig, "generate_latent_grid")
    return source


def run_interpolate(ctx: Context) -> dict:
    """Decode along straight lines between two codes: of test images when the model has an
    encoder network, of N(0, I) draws otherwise (a GAN)."""
    p = ctx.params
    t = torch.linspace(0, 1, p.interpolate_steps)  # (T,)
    if amortized_encoder(ctx.model):
        pick = ctx.rng("interpolate").choice(len(ctx.x_test), 2 * p.interpolate_pairs,
                                             replace=len(ctx.x_test) < 2 * p.interpolate_pairs)
        ends = ctx.x_test[torch.from_numpy(pick)]  # (2P, C, H, W)
        z = encode(ctx, ends)
        source = "test_codes"
    else:
        z = torch.randn(2 * p.interpolate_pairs, ctx.model.latent_dim, generator=ctx.generator("interpolate"))
        ends, source = None, "prior"
    za, zb = z[0::2], z[1::2]  # (P, latent) each
    path = (1 - t)[None, :, None] * za[:, None] + t[None, :, None] * zb[:, None]  # (P, T, latent)
    frames = decode(ctx, path.flatten(0, 1)).unflatten(0, path.shape[:2])  # (P, T, C, H, W)
    step = (frames[:, 1:] - frames[:, :-1]).pow(2).flatten(2).mean(2)  # (P, T−1)
    rows, cols = list(frames), [f"t={v:.2f}" for v in t.tolist()]
    if ends is not None:
        rows = [torch.cat([ends[2 * i:2 * i + 1], r, ends[2 * i + 1:2 * i + 2]]) for i, r in enumerate(rows)]
        cols = ["image A"] + cols + ["image B"]
    fig = image_rows_figure(rows, [f"pair {i + 1}" for i in range(len(rows))],
                            "Straight-line interpolation in latent space"
                            + (" between test images" if ends is not None else " between prior draws"),
                            col_labels=cols)
    save(ctx, fig, "interpolate")
    return {"endpoints": source, "pairs": p.interpolate_pairs, "steps": p.interpolate_steps,
            "mean_step_mse_per_pixel": mean(step)}
