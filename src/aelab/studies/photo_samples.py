"""study_photo_samples@<name>: the photo study's three generators side by side — the deep
CAE sampled through a GMM on its codes, the deep VAE from its prior, and the GAN built
from the same blocks (GANConfig.backbone 'deep') — judged on sharpness and variety
against the real test images (numbers here; figures in photo_samples_figures.py).

Per model, n_samples samples (the CAE: probe.generate's GMM on the codes of classify@'s
training subset, BIC over classify.gmm_components, as classify@ samples it; VAE and GAN:
N(0, I) through the decoder, seeded) and, as the reference row, as many real test images:
- sharpness: on the luminance Y = 0.299 R + 0.587 G + 0.114 B in [0, 1], the variance of
  the 3×3 Laplacian response per image (the usual focus measure: blur lowers it) and the
  mean gradient magnitude √(dx² + dy²) (forward differences), both averaged over images
  (with the standard error of that mean, `*_sem`) and divided by the real images' value
  (`*_ratio_to_real`: 1 = as sharp as real);
- variety: the mean pairwise RMS distance between samples (per pixel, [0, 1] units) over
  all pairs, and its ratio to the same number for real images (low = samples look alike);
  classify@'s forest (fitted on the training originals exactly as classify@ fits it)
  labels every sample: classes seen (share ≥ health.min_class_share), top class share
  (Wilson interval), the histogram;
- closeness to the training set: the mean MSE per pixel to the nearest training image
  (≈ 0 means copying; real test images give the scale);
- the Fréchet distance to real test images on the hidden layer of a small sklearn
  MLPClassifier fitted on the training images' labels (study_gan_backbones' FeatureNet;
  its test accuracy is reported), with the floor between two halves of the test set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..core import paths
from ..data.contract import load_processed, to_model_input
from ..core.errors import ConfigError
from ..probe import generate, originals_forest
from ..stats import share_entry
from ..tasks.common import subset
from .common import check_variant, load_variant_model, nearest_train_mse, setup, study_entry, write_study
from .gan_backbones import FeatureNet, frechet_between

log = logging.getLogger("aelab")

ROLES = ("cae", "vae", "gan")  # the study's three generators, in the table's order
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights of R, G, B
NEEDS = {"cae": "encoder (its samples come from a GMM on its codes)", "vae": "prior to sample from",
         "gan": "prior to sample from"}


@dataclass(frozen=True)
class Judged:
    """One set of images (a model's samples or the real test images) and its numbers."""

    label: str  # 'real' or the variant name
    images: np.ndarray  # (n_show, C, H, W) in [0, 1]
    class_fraction: np.ndarray  # (K,) share per forest class
    metrics: dict


@dataclass(frozen=True)
class PhotoSamplesResult:
    class_names: list[str]
    real: Judged
    models: dict[str, Judged]  # role → judged samples
    metrics: dict


# ---- measures, one value per image (known answers in tests/test_photo_samples.py) ----

def luminance(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] → (N, 1, H, W): BT.601 luma for RGB, the channel itself for gray."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x[:, :3] * w).sum(1, keepdim=True)


def laplacian_variance(x: torch.Tensor) -> torch.Tensor:
    """(N,) variance of the 4-neighbour Laplacian of each image's luminance (valid region)."""
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=x.dtype).view(1, 1, 3, 3)
    lap = F.conv2d(luminance(x), k)  # (N, 1, H − 2, W − 2)
    return lap.flatten(1).var(1, unbiased=False)


def gradient_magnitude(x: torch.Tensor) -> torch.Tensor:
    """(N,) mean of √(dx² + dy²) over each image's luminance (forward differences)."""
    y = luminance(x)[:, 0]  # (N, H, W)
    dx = y[:, :-1, 1:] - y[:, :-1, :-1]  # (N, H − 1, W − 1)
    dy = y[:, 1:, :-1] - y[:, :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1)


def mean_pairwise_rms(x: torch.Tensor) -> float:
    """Mean over all pairs i < j of the RMS per-pixel distance ‖x_i − x_j‖ / √D."""
    flat = x.flatten(1).double()
    return float(torch.pdist(flat).mean() / flat.shape[1] ** 0.5)


# ---- one set of images ----------------------------------------------------------------

def judge(x: torch.Tensor, rf, feats, real_feats, train_flat, min_share: float) -> tuple[dict, np.ndarray]:
    """Numbers and class histogram of images x (N, C, H, W) in [0, 1]."""
    flat = x.reshape(len(x), -1).numpy().astype(np.float32)  # (N, C·H·W)
    pred = rf.predict(flat)
    counts = np.array([int((pred == c).sum()) for c in rf.classes_])  # (K,)
    frac = counts / len(x)
    m = {"n": len(x), **_mean_sem("laplacian_variance", laplacian_variance(x)),
         **_mean_sem("gradient_magnitude", gradient_magnitude(x)),
         "mean_pairwise_rms": mean_pairwise_rms(x),
         "classes_seen": int((frac >= min_share).sum()),
         **share_entry("top_class_share", int(counts.max()), len(x)),
         "nearest_train_mse_per_pixel": float(nearest_train_mse(x.flatten(1), train_flat).mean()),
         "frechet_distance": frechet_between(real_feats, feats.features(flat))}
    return m, frac


def _mean_sem(key: str, per_image: torch.Tensor) -> dict:
    """{key: mean, key_sem: standard error of the mean} of per-image values (N,)."""
    v = per_image.double()
    return {key: float(v.mean()), f"{key}_sem": float(v.std() / len(v) ** 0.5) if len(v) > 1 else 0.0}


def _ratios(m: dict, real: dict) -> dict:
    return {f"{k}_ratio_to_real": m[k] / max(real[k], 1e-12)
            for k in ("laplacian_variance", "gradient_magnitude", "mean_pairwise_rms")}


def _load(variant: str, role: str, key: str, device):
    model, _ = load_variant_model(variant, device)
    ok = model.has_encoder if role == "cae" else model.has_prior
    if not ok:
        raise ConfigError(f"{key}.{role}",
                          f"variant {variant!r} ({type(model).__name__}) has no {NEEDS[role]}")
    return model


# ---- the stage ------------------------------------------------------------------------

def compute(params, name: str) -> PhotoSamplesResult:
    """Every number and figure array of the study (see module doc); writes nothing."""
    cfg, key = study_entry(params, "photo_samples", name)
    for role in ROLES:
        check_variant(params, getattr(cfg, role), f"{key}.{role}", dataset=cfg.dataset)
    device = setup(params)
    models = {role: _load(getattr(cfg, role), role, key, device) for role in ROLES}  # fail fast
    data = load_processed(paths.processed(cfg.dataset))
    ccfg, min_share = params.classify, params.health.min_class_share
    rf, x_tr = originals_forest(params, data)  # x_tr (N_fit, C, H, W): also the CAE's GMM fit set
    rng = np.random.default_rng(cfg.seed)
    te = subset(len(data.x_test), cfg.n_samples, rng)
    x_te = to_model_input(data.x_test[te], data.meta)  # the real reference row
    ftr = subset(len(data.x_train), cfg.fid_max_train, rng)
    x_ftr = to_model_input(data.x_train[ftr], data.meta)
    feats = FeatureNet(x_ftr.reshape(len(ftr), -1).numpy(), data.y_train[ftr], cfg.fid_hidden,
                       cfg.fid_max_iter, cfg.seed)
    real_flat = x_te.reshape(len(te), -1).numpy()
    real_feats = feats.features(real_flat)
    half = rng.permutation(len(real_feats))
    train_flat = to_model_input(data.x_train, data.meta).flatten(1)  # (N_train, C·H·W)
    real_m, real_frac = judge(x_te, rf, feats, real_feats, train_flat, min_share)
    real_m["frechet_distance"] = frechet_between(real_feats[half[:len(half) // 2]],
                                                 real_feats[half[len(half) // 2:]])  # the floor
    names = list(data.meta.get("class_names") or [])
    names = [names[c] if c < len(names) else str(c) for c in rf.classes_]
    metrics: dict = {
        "dataset": cfg.dataset, "n_samples": cfg.n_samples, "n_forest_fit": len(x_tr),
        "fid_feature_net_test_accuracy": float((feats.net.predict(real_flat) == data.y_test[te]).mean()),
        "min_class_share": min_share,
        "units": ("laplacian_variance: luma units² (Y in [0, 1]); gradient_magnitude, mean_pairwise_rms: "
                  "[0, 1] pixel units; nearest_train_mse_per_pixel: squared pixel units; "
                  "Fréchet: feature units² (real row: between two halves of the test images)"),
        "real": {**real_m, "class_fraction": dict(zip(names, real_frac.round(6).tolist()))}}
    judged = {}
    for role in ROLES:
        variant, model = getattr(cfg, role), models[role]
        x, how = generate(model, x_tr, cfg.n_samples, ccfg.gmm_components, cfg.seed, device)
        x = x.clamp(0, 1)
        m, frac = judge(x, rf, feats, real_feats, train_flat, min_share)
        m = {"variant": variant, **how, **m, **_ratios(m, real_m),
             "class_fraction": dict(zip(names, frac.round(6).tolist()))}
        judged[role] = Judged(variant, x[:cfg.n_show].numpy(), frac, m)
        metrics[role] = m
        log.info("study_photo_samples@%s: %s (%s): sharpness %.2f× real, variety %.2f× real, %d classes, "
                 "Fréchet %.4g", name, variant, role, m["laplacian_variance_ratio_to_real"],
                 m["mean_pairwise_rms_ratio_to_real"], m["classes_seen"], m["frechet_distance"])
    real = Judged("real", x_te[:cfg.n_show].numpy(), real_frac, metrics["real"])
    return PhotoSamplesResult(names, real, judged, metrics)


def study_photo_samples(params, name: str) -> dict:
    """The stage: metrics/studies/photo_samples_<name>.json and plots/studies/photo_samples_<name>/
    (samples.png, measures.png, classes.png)."""
    from .photo_samples_figures import class_figure, measures_figure, samples_figure

    res = compute(params, name)
    return write_study(f"photo_samples_{name}", res.metrics, {
        "samples.png": lambda: samples_figure(res), "measures.png": lambda: measures_figure(res),
        "classes.png": lambda: class_figure(res)})
