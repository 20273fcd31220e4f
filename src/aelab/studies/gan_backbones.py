"""study_gan_backbones@<name>: the GAN with a convolutional (DCGAN) backbone vs the same GAN
with fully connected players (GANConfig.backbone), same latent size and training budget,
from their checkpoints and the curves train@ wrote (numbers computed here; figures in
gan_backbones_figures.py).

Per backbone, on n_samples prior samples G(z) (the same z for both: one seeded generator):
- classify's random forest (probe.fit_forest on the training originals, fitted exactly as
  classify@ fits it: `classify` params, same seeded subset) labels every sample:
  class_fraction (the histogram), classes_seen (classes with a share ≥
  health.min_class_share), top_class_share (with n and a Wilson interval), and
  mean_max_prob, the forest's mean confidence (high and spread over classes: digit-like);
- the Fréchet distance (Heusel et al. 2017's FID formula, on other features) between
  real test digits and the samples:  d² = ‖μ_r − μ_s‖² + Tr(Σ_r + Σ_s − 2 (Σ_r Σ_s)^½),
  Gaussians fitted to features of both sets. Features (`fid_features` in the metrics):
  the fid_hidden ReLU activations of the hidden layer of a small sklearn MLPClassifier
  (one hidden layer, Adam, random_state = seed) fitted to classify the training digits,
  relu(x W₁ + b₁) on the flattened pixels in [0, 1]; not Inception features, so the
  numbers compare backbones here, not with published FIDs. Its test accuracy is reported
  (a feature net that cannot tell digits apart would make the distance meaningless), and
  so is a floor: the distance between two random halves of the real test digits;
- the final train/test losses of both players from metrics/train/<variant>.json and their
  per-epoch curves from plots/train/<variant>/ (dvclive TSV).
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ..core import paths
from ..data.contract import load_processed, to_model_input
from ..core.errors import AelabError, ConfigError
from ..core.io import read_json
from ..probe import originals_forest
from ..stats import share_entry
from ..tasks.common import subset
from .common import check_variant, load_variant_model, setup, study_entry, write_study

log = logging.getLogger("aelab")

ROLES = ("conv", "mlp")  # GANConfig.backbone of each compared variant
PLAYER_TERMS = ("d_loss", "g_loss")  # dvclive curve names of the two players' losses


@dataclass(frozen=True)
class BackboneResult:
    """One backbone's numbers and figure arrays."""

    variant: str
    samples: np.ndarray  # (n_show, C, H, W) in [0, 1]
    class_fraction: np.ndarray  # (K,) share of the samples per forest class
    curves: dict[str, dict[str, np.ndarray]]  # term → split → (epochs, 2): epoch, loss
    metrics: dict


@dataclass(frozen=True)
class GANBackbonesResult:
    """What the figures need: class names, per-backbone results, the metrics file's dict."""

    class_names: list[str]
    backbones: dict[str, BackboneResult]  # role ('conv', 'mlp') → result
    metrics: dict


# ---- Fréchet distance ----------------------------------------------------------------

def gaussian_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) → mean (D,) and covariance (D, D), float64 (unbiased, N − 1)."""
    f = np.asarray(features, dtype=np.float64)
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2).

    Tr((Σ₁Σ₂)^½) = Tr((Σ₁^½ Σ₂ Σ₁^½)^½): the inner matrix is symmetric PSD, so its
    eigenvalues are real and ≥ 0 (up to rounding) — no complex sqrtm as in scipy's route."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    s1 = _sqrt_psd(cov1)
    inner = s1 @ cov2 @ s1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    d2 = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)
    return max(d2, 0.0)  # rounding can leave −1e-12 for identical sets


def frechet_between(a: np.ndarray, b: np.ndarray) -> float:
    """Squared Fréchet distance between Gaussians fitted to feature sets a (N, D), b (M, D)."""
    return frechet_distance(*gaussian_moments(a), *gaussian_moments(b))


class FeatureNet:
    """The hidden layer of a seeded sklearn MLPClassifier fitted on (x (N, F), y)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, hidden: int, max_iter: int, seed: int):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        self.net = MLPClassifier((hidden,), max_iter=max_iter, random_state=seed)
        with warnings.catch_warnings():  # a fixed epoch budget, not "until converged"
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.net.fit(x, y)

    def features(self, x: np.ndarray) -> np.ndarray:
        """(N, F) → (N, hidden): relu(x W₁ + b₁)."""
        return np.maximum(x @ self.net.coefs_[0] + self.net.intercepts_[0], 0)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.net.predict(x) == y).mean())


# ---- inputs ---------------------------------------------------------------------------

def _flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(len(x), -1).numpy().astype(np.float32)  # (N, C·H·W)


def read_curves(variant: str) -> dict[str, dict[str, np.ndarray]]:
    """The players' per-epoch losses train@ logged: term → split → (epochs, 2) [epoch, loss].
    dvclive: plots/train/<v>/plots/metrics/<split>/<term>.tsv, columns step and <term>;
    step 0 is epoch 1. The encoder phase's curves (…/encoder/…) are not the players'."""
    root = paths.train_plots(variant) / "plots" / "metrics"
    out: dict[str, dict[str, np.ndarray]] = {}
    for term in PLAYER_TERMS:
        for split in ("train", "test"):
            tsv = root / split / f"{term}.tsv"
            if not tsv.exists():
                raise AelabError(f"{tsv} not found; run `dvc repro train@{variant}` first")
            with tsv.open(newline="") as f:
                rows = [(int(r["step"]) + 1, float(r[term])) for r in csv.DictReader(f, delimiter="\t")]
            out.setdefault(term, {})[split] = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return out


def _train_record(variant: str) -> dict:
    path = paths.train_metrics(variant)
    if not path.exists():
        raise AelabError(f"{path} not found; run `dvc repro train@{variant}` first")
    m = read_json(path)
    return {"epochs": m["epochs"], "params": m["params"], "loss_units": m["loss_units"],
            **{f"final_{split}_{t}": m[split][t] for split in ("train", "test") for t in PLAYER_TERMS}}


# ---- one backbone ---------------------------------------------------------------------

def judge_samples(model, rf, feats, real_feats, cfg, min_share: float, device) -> tuple[dict, np.ndarray, np.ndarray]:
    """n_samples prior samples → (numbers, class_fraction (K,), first n_show samples)."""
    gen = torch.Generator(device=device).manual_seed(cfg.seed)  # same z for every backbone
    with torch.inference_mode():
        x = torch.cat([model.sample(min(500, cfg.n_samples - i), generator=gen).float().cpu()
                       for i in range(0, cfg.n_samples, 500)])  # (n, C, H, W) in [0, 1]
    flat = _flat(x)
    prob = rf.predict_proba(flat)  # (n, K): K = the forest's classes, rf.classes_
    counts = np.bincount(prob.argmax(1), minlength=prob.shape[1])  # (K,)
    frac = counts / len(x)
    m = {"n_samples": len(x), "mean_max_prob": float(prob.max(1).mean()),
         "classes_seen": int((frac >= min_share).sum()),
         **share_entry("top_class_share", int(counts.max()), len(x)),
         "frechet_distance": frechet_between(real_feats, feats.features(flat))}
    return m, frac, x[:cfg.n_show].numpy()


def _load_backbone(variant: str, role: str, device):
    model, _ = load_variant_model(variant, device)
    backbone = getattr(model.cfg, "backbone", None)
    if not model.has_prior or backbone != role:
        raise ConfigError(f"studies.gan_backbones.*.{role}",
                          f"variant {variant!r} is a {type(model).__name__} with backbone {backbone!r}, "
                          f"not a GAN with backbone {role!r}")
    return model


# ---- the stage ------------------------------------------------------------------------

def compute(params, name: str) -> GANBackbonesResult:
    """Every number and figure array of the study (see module doc); writes nothing."""
    cfg, key = study_entry(params, "gan_backbones", name)
    for role in ROLES:
        check_variant(params, getattr(cfg, role), f"{key}.{role}", dataset=cfg.dataset)
    device = setup(params)
    models = {role: _load_backbone(getattr(cfg, role), role, device) for role in ROLES}  # fail fast
    data = load_processed(paths.processed(cfg.dataset))
    rf, x_fit = originals_forest(params, data)
    rng = np.random.default_rng(cfg.seed)
    ftr = subset(len(data.x_train), cfg.fid_max_train, rng)
    te = subset(len(data.x_test), cfg.fid_max_test, rng)
    x_te = _flat(to_model_input(data.x_test[te], data.meta))
    feats = FeatureNet(_flat(to_model_input(data.x_train[ftr], data.meta)), data.y_train[ftr],
                       cfg.fid_hidden, cfg.fid_max_iter, cfg.seed)
    real = feats.features(x_te)  # (N_test, hidden)
    half = rng.permutation(len(real))
    floor = frechet_between(real[half[:len(half) // 2]], real[half[len(half) // 2:]])
    names = list(data.meta.get("class_names") or [])
    names = [names[c] if c < len(names) else str(c) for c in rf.classes_]
    metrics: dict = {
        "dataset": cfg.dataset, "n_forest_fit": len(x_fit), "n_real_test": len(te),
        "fid_features": (f"hidden layer ({cfg.fid_hidden} ReLU units) of an sklearn MLPClassifier "
                         f"fitted on {len(ftr)} training digits ({cfg.fid_max_iter} Adam epochs, "
                         f"random_state {cfg.seed}), flattened pixels in [0, 1]"),
        "fid_feature_net_test_accuracy": feats.accuracy(x_te, data.y_test[te]),
        "frechet_floor_test_halves": floor,
        "units": "Fréchet distance: squared, in feature units²; losses: nats/sample (D: real + fake BCE)",
        "min_class_share": params.health.min_class_share}
    results = {}
    for role in ROLES:
        variant, model = getattr(cfg, role), models[role]
        m, frac, shown = judge_samples(model, rf, feats, real, cfg, params.health.min_class_share, device)
        m = {"variant": variant, **m,
             "class_fraction": {n: float(f) for n, f in zip(names, frac)}, "train": _train_record(variant)}
        results[role] = BackboneResult(variant, shown, frac, read_curves(variant), m)
        metrics[role] = m
        log.info("study_gan_backbones@%s: %s (%s): Fréchet %.4g, forest mean max-p %.3f, %d classes seen",
                 name, variant, role, m["frechet_distance"], m["mean_max_prob"], m["classes_seen"])
    metrics["frechet_ratio_mlp_to_conv"] = (metrics["mlp"]["frechet_distance"]
                                            / max(metrics["conv"]["frechet_distance"], 1e-12))
    return GANBackbonesResult(names, results, metrics)


def study_gan_backbones(params, name: str) -> dict:
    """The stage: metrics/studies/gan_backbones_<name>.json and plots/studies/gan_backbones_<name>/
    (samples.png, losses.png, classes.png)."""
    from .gan_backbones_figures import class_figure, loss_figure, samples_figure

    res = compute(params, name)
    return write_study(f"gan_backbones_{name}", res.metrics, {
        "samples.png": lambda: samples_figure(res), "losses.png": lambda: loss_figure(res),
        "classes.png": lambda: class_figure(res)})
