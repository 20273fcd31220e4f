"""study_fmnist_ae_vs_vae@<name>: the MLP autoencoder and its VAE twin on binarized
Fashion-MNIST, side by side, from their checkpoints (numbers computed here).

Per model, on a fixed random subset of max_test test images:
- reconstruction BCE (nats/image) and MSE per pixel; the VAE also with a sampled code,
  and its −ELBO and KL (nats/image);
- consistency under repeated encode→decode, x_{k+1} = decode(encode(x_k)):
  first_pass_change = MSE(x_2, x_1) (0: reconstructions are fixed points),
  drift = MSE(x_K, x_1) after K = passes, code_drift = mean ‖z_K − z_1‖ / mean ‖z_1‖;
  the VAE's stochastic spread = per-pixel std over `passes` sampled reconstructions;
- latent: kNN accuracy (k=5) of the test codes from training codes, scatter by label;
- the VAE's 20 samples from N(0, I).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..core import paths
from ..data.contract import load_processed, to_model_input
from ..probe import batched
from ..stats import rate_entry
from ..tasks.common import bce_nats_per_image, mean_mse, subset
from .common import check_variant, load_variant_model, setup, study_entry, write_study

log = logging.getLogger("aelab")


@dataclass(frozen=True)
class ModelArrays:
    """What the figure draws of one model (n_show first images of the test subset)."""

    rec: torch.Tensor  # (n_show, C, H, W) reconstructions (the VAE: from the mean code)
    last: torch.Tensor  # (n_show, C, H, W) after `passes` encode→decode passes
    z: np.ndarray  # (N, latent) codes of the whole test subset
    sampled: torch.Tensor | None = None  # (n_show, C, H, W) from a sampled code (stochastic models)
    samples: torch.Tensor | None = None  # (n_samples, C, H, W) from the prior (models with one)


@dataclass(frozen=True)
class AeVsVaeResult:
    x_show: torch.Tensor  # (n_show, C, H, W) originals
    y: np.ndarray  # (N,) labels of the test subset
    class_names: list[str]
    ae: ModelArrays
    vae: ModelArrays
    metrics: dict  # metrics/studies/fmnist_ae_vs_vae_<name>.json


def _bce(recon: torch.Tensor, x: torch.Tensor) -> float:
    return float(bce_nats_per_image(recon, x).mean())  # nats/image


def consistency(model, x: torch.Tensor, passes: int, device) -> tuple[dict, list[torch.Tensor]]:
    """Repeated deterministic encode→decode; → (numbers, [x_1, …, x_K])."""
    xs, zs, cur = [], [], x
    for _ in range(passes):
        zs.append(batched(model.encode, cur, device))  # (N, latent)
        cur = batched(model.decode, zs[-1], device)  # (N, C, H, W)
        xs.append(cur)
    dz = (zs[-1] - zs[0]).norm(dim=1).mean() / zs[0].norm(dim=1).mean().clamp_min(1e-12)
    return {"first_pass_change_mse": mean_mse(xs[1], xs[0]), f"drift_mse_after_{passes}": mean_mse(xs[-1], xs[0]),
            f"code_drift_after_{passes}": float(dz)}, xs


def knn_hits(z_tr, y_tr, z_te, y_te, k: int = 5) -> np.ndarray:
    """(N_test,) bool: the k-NN vote of the training codes names the test label."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(k).fit(z_tr, y_tr).predict(z_te) == np.asarray(y_te)


def score_model(model, x, y, x_tr, y_tr, cfg, device, seed: int) -> tuple[dict, ModelArrays]:
    """Numbers and figure arrays of one model (see module doc)."""
    torch.manual_seed(seed)  # VAE sampling inside reconstruct/forward
    rec = batched(model.reconstruct, x, device)
    m = {"test_bce_nats_per_image": _bce(rec, x), "test_mse_per_pixel": mean_mse(rec, x)}
    cons, xs = consistency(model, x, cfg.passes, device)
    m["consistency"] = cons
    z = batched(model.encode, x, device).numpy()
    m.update(rate_entry("latent_knn5_accuracy",  # with _n and a Wilson 95% interval
                        knn_hits(batched(model.encode, x_tr, device).numpy(), y_tr, z, y)))
    sampled = samples = None
    if model.stochastic:
        draws = torch.stack([batched(lambda b: model.reconstruct(b, sample=True), x, device)
                             for _ in range(cfg.passes)])  # (K, N, C, H, W)
        m["sampled_recon_bce_nats_per_image"] = _bce(draws[0], x)
        m["stochastic_recon_std_per_pixel"] = float(draws.std(0).mean())
        sampled = draws[0][:cfg.n_show]
        sums = {}
        for i in range(0, len(x), 500):
            with torch.inference_mode():
                logs = model(x[i:i + 500].to(device)).logs
            for key in ("neg_elbo", "kl_nats"):
                if key in logs:
                    sums[key] = sums.get(key, 0.0) + float(logs[key]) * len(x[i:i + 500])
        m.update({f"test_{k}_per_image": v / len(x) for k, v in sums.items()})
    if model.has_prior:
        gen = torch.Generator(device=device).manual_seed(seed)
        with torch.inference_mode():
            samples = model.sample(cfg.n_samples, generator=gen).float().cpu()
    return m, ModelArrays(rec[:cfg.n_show], xs[-1][:cfg.n_show], z, sampled, samples)


def study_fmnist_ae_vs_vae(params, name: str) -> dict:
    """The stage: metrics/studies/fmnist_ae_vs_vae_<name>.json, plots/.../comparison.png."""

    cfg, key = study_entry(params, "fmnist_ae_vs_vae", name)
    va = check_variant(params, cfg.ae, f"{key}.ae", dataset=cfg.dataset)
    check_variant(params, cfg.vae, f"{key}.vae", dataset=cfg.dataset)
    device = setup(params)
    data = load_processed(paths.processed(va.dataset))
    rng = np.random.default_rng(cfg.seed)
    te, tr = subset(len(data.x_test), cfg.max_test, rng), subset(len(data.x_train), cfg.max_test, rng)
    x, y = to_model_input(data.x_test[te], data.meta), data.y_test[te]
    x_tr, y_tr = to_model_input(data.x_train[tr], data.meta), data.y_train[tr]
    metrics, arrays = {"ae": {"variant": cfg.ae}, "vae": {"variant": cfg.vae}}, {}
    for role, variant in (("ae", cfg.ae), ("vae", cfg.vae)):
        model, _ = load_variant_model(variant, device)
        m, arrays[role] = score_model(model, x, y, x_tr, y_tr, cfg, device, cfg.seed)
        metrics[role].update(m)
        log.info("study_fmnist_ae_vs_vae: %s: %s", variant, {k: v for k, v in m.items() if k.startswith("test")})
    metrics.update({"n_test": len(x), "passes": cfg.passes, "dataset": va.dataset,
                    "units": "BCE/−ELBO/KL in nats per image; MSE and std per pixel in [0, 1]"})
    metrics["bce_ratio_vae_to_ae"] = metrics["vae"]["test_bce_nats_per_image"] / metrics["ae"]["test_bce_nats_per_image"]
    names = data.meta.get("class_names") or [str(i) for i in range(10)]
    res = AeVsVaeResult(x[:cfg.n_show], y, names, arrays["ae"], arrays["vae"], metrics)
    from .ae_vs_vae_figure import comparison_figure

    return write_study(f"fmnist_ae_vs_vae_{name}", metrics, {"comparison.png": lambda: comparison_figure(res)})
