"""Health checks: a model that learned nothing is a bug to catch, not a result to report.

evaluate@ and classify@ each write `health: {ok, warnings: {name: {numbers…, why}}}` into
their metrics from the numbers they computed; the report's health panel lists every
warning. The checks are pure functions of metrics dicts, so known-answer tests need no
model. Thresholds are the `health:` section of params.yaml (HealthParams).

    evaluate@: output_collapse, posterior_collapse, codes_at_chance, divergence, small_n
    classify@: probe_at_chance, one_class_dominates, mode_collapse, small_n
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .core.config import spec


@dataclass(frozen=True)
class HealthParams:
    """Thresholds of the health checks (defaults in brackets).

    collapse_variance_ratio [0.1]: output collapse when the reconstructions' variance
      across test samples (mean over pixels/coordinates) is below this fraction of the
      data's; chance_margin [0.05]: a probe (RF on reconstructions, kNN on codes) within
      this many accuracy points of the majority-class rate is "at chance";
      top_class_share [0.6]: one predicted class taking more than this share of
      reconstructions or samples; kl_nats_per_dim [0.5]: posterior collapse when no
      latent dimension of a VAE carries this much test KL (nats; evaluate@'s
      latent.kl_nats_max_dim — without it, the total KL spread evenly over the code);
      mode_class_fraction [0.5]: mode
      collapse when the classes seen in samples are fewer than this fraction of all
      classes; min_class_share [0.01]: a class is "seen" when it takes at least this share
      of the samples; min_n [200]: any reported rate from fewer samples is flagged;
      divergence_factor [1.0]: divergence when the final training loss exceeds the first
      epoch's times this (models whose loss is one objective, see Autoencoder).
    """

    collapse_variance_ratio: float = spec(0.1, ge=0, le=1)
    chance_margin: float = spec(0.05, ge=0, le=1)
    top_class_share: float = spec(0.6, gt=0, le=1)
    kl_nats_per_dim: float = spec(0.5, ge=0)
    mode_class_fraction: float = spec(0.5, ge=0, le=1)
    min_class_share: float = spec(0.01, ge=0, lt=1)
    min_n: int = spec(200, ge=1)
    divergence_factor: float = spec(1.0, gt=0)


def verdict(*groups: dict) -> dict:
    """Merge warning dicts into {ok, warnings}; ok is True only when none fired."""
    warnings = {k: v for g in groups for k, v in g.items()}
    return {"ok": not warnings, "warnings": warnings}


def small_n(metrics: dict, cfg: HealthParams, prefix: str = "") -> dict:
    """Every rate whose sibling `<key>_n` is below min_n (keys as stats.rate_entry writes)."""
    flat = _flat(metrics)
    low = {prefix + k[:-2]: int(v) for k, v in flat.items()
           if k.endswith("_n") and k[:-2] in flat and isinstance(v, (int, float)) and v < cfg.min_n}
    if not low:
        return {}
    return {"small_n": {"rates": low, "min_n": cfg.min_n,
                        "why": f"{len(low)} rate(s) from fewer than {cfg.min_n} samples"}}


def output_collapse(variance_ratio: float | None, cfg: HealthParams) -> dict:
    if variance_ratio is None or variance_ratio >= cfg.collapse_variance_ratio:
        return {}
    return {"output_collapse": {"variance_ratio": variance_ratio, "threshold": cfg.collapse_variance_ratio,
                                "why": f"reconstructions vary {variance_ratio:.1%} as much as the data "
                                       "across test samples: near-constant outputs"}}


def posterior_collapse(kl_nats: float | None, kl_max_dim: float | None, latent_dim: int,
                       cfg: HealthParams) -> dict:
    """The decoder ignores the code when not one latent dimension carries kl_nats_per_dim
    of KL: a 300-D VAE that puts 25 nats into 20 dimensions and prunes the rest is in use
    (unused dimensions are how a VAE spends spare capacity), a code whose KL is ~0 in every
    dimension is collapsed. kl_max_dim: the mean test KL of the dimension that carries most;
    None (no per-dimension figure) → the total spread evenly, the strictest reading."""
    if kl_nats is None or latent_dim < 1:
        return {}
    top = kl_nats / latent_dim if kl_max_dim is None else kl_max_dim
    if top >= cfg.kl_nats_per_dim:
        return {}
    return {"posterior_collapse": {
        "kl_nats": kl_nats, "kl_nats_max_dim": top, "latent_dim": latent_dim,
        "threshold": cfg.kl_nats_per_dim,
        "why": f"no latent dimension carries {cfg.kl_nats_per_dim:g} nats of test KL (largest "
               f"{top:.3g}, total {kl_nats:.3g} over {latent_dim}): the decoder ignores the code"}}


def at_chance(name: str, accuracy: float | None, chance: float | None, cfg: HealthParams,
              what: str) -> dict:
    if accuracy is None or chance is None or accuracy > chance + cfg.chance_margin:
        return {}
    return {name: {"accuracy": accuracy, "chance": chance, "margin": cfg.chance_margin,
                   "why": f"{what} {accuracy:.3f} vs chance {chance:.3f}"}}


def divergence(first: float | None, final: float | None, cfg: HealthParams) -> dict:
    if first is None or final is None:
        return {}
    if math.isfinite(final) and final <= first * cfg.divergence_factor:
        return {}
    return {"divergence": {"first_epoch_train_loss": first, "final_train_loss": final,
                           "factor": cfg.divergence_factor,
                           "why": f"final training loss {final:.4g} above the first epoch's {first:.4g}"}}


def dominant_class(name: str, fractions: dict[str, float], cfg: HealthParams, what: str,
                   majority: float | None = None) -> dict:
    """One class above top_class_share — or, where the data itself has a class that large
    (`majority`, its share of the test labels), above that share plus chance_margin."""
    if not fractions:
        return {}
    top = max(fractions, key=fractions.get)
    limit = max(cfg.top_class_share, (majority or 0.0) + cfg.chance_margin)
    if fractions[top] <= limit:
        return {}
    return {name: {"class": top, "share": fractions[top], "threshold": limit,
                   "why": f"the forest labels {fractions[top]:.0%} of {what} as {top!r}"}}


def mode_collapse(fractions: dict[str, float], cfg: HealthParams) -> dict:
    if not fractions:
        return {}
    seen = sorted(k for k, f in fractions.items() if f >= cfg.min_class_share)
    need = cfg.mode_class_fraction * len(fractions)
    if len(seen) >= need:
        return {}
    return {"mode_collapse": {"classes_seen": len(seen), "classes": len(fractions), "seen": seen,
                              "why": f"samples cover {len(seen)} of {len(fractions)} classes "
                                     f"(each ≥ {cfg.min_class_share:.0%} of samples)"}}


def evaluate_health(metrics: dict, train: dict, monotone_objective: bool, cfg: HealthParams) -> dict:
    """Checks on evaluate@'s flat metrics and train@'s metrics file (see module doc)."""
    ratio = metrics.get("reconstruct.test.variance_ratio", metrics.get("points_reconstruct.variance_ratio"))
    first = train.get("first_epoch", {}).get("train_loss") if monotone_objective else None
    return verdict(
        output_collapse(ratio, cfg),
        posterior_collapse(metrics.get("latent.kl_nats", train.get("test", {}).get("kl_nats")),
                           metrics.get("latent.kl_nats_max_dim"), int(metrics.get("latent.dim", 0)), cfg),
        at_chance("codes_at_chance", metrics.get("latent.knn_accuracy"), metrics.get("latent.knn_chance"),
                  cfg, "kNN accuracy on test codes"),
        divergence(first, train.get("train", {}).get("loss"), cfg),
        small_n(metrics, cfg))


def probe_health(rf: dict, cfg: HealthParams) -> dict:
    """Checks on classify@'s metrics: the forest's verdict on reconstructions and samples."""
    acc, chance = rf.get("accuracy", {}), rf.get("chance_accuracy")
    samples = rf.get("samples", {}).get("class_fraction", {})
    return verdict(
        at_chance("probe_at_chance", acc.get("test_reconstructions"), chance, cfg,
                  "forest accuracy on test reconstructions"),
        dominant_class("one_class_dominates", rf.get("reconstruction_class_fraction", {}), cfg,
                       "test reconstructions", chance),
        dominant_class("samples_one_class", samples, cfg, "generated samples", chance),
        mode_collapse(samples, cfg),
        small_n(rf, cfg))


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
