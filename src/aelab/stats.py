"""Honest numbers: every rate goes out with its sample size and a 95% interval.

    rate_entry("knn_accuracy", correct)      # {'knn_accuracy': p, 'knn_accuracy_n': n,
                                             #  'knn_accuracy_lo': …, 'knn_accuracy_hi': …}
    auroc_entry("auroc", labels, scores, seed)   # same keys; stratified bootstrap interval
    code_mmd2(z, seed)                       # MMD² of codes vs N(0, I) and its two-sample floor

Proportions use the Wilson score interval (correct near 0 and 1, where the normal
approximation leaves [0, 1]); AUROC has no closed form worth trusting at small n, so a
seeded stratified bootstrap (in- and out-of-distribution resampled separately) gives it.
Sibling keys (`_n`, `_lo`, `_hi`) keep metrics flat for `dvc metrics show`.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # two-sided 95% normal quantile
BOOTSTRAP_ROUNDS = 1000
# Bandwidths of the multi-bandwidth RBF MMD² for "how Gaussian is the code": the MMD
# study's set (variants.moons_mmd_z2.bandwidths), doubling around 1 because N(0, I) is the
# reference and its pairwise distances are of order √(2d).
CODE_MMD_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0, 4.0)
CODE_MMD_MAX = 1000  # codes used (the estimator is O(n²) in memory)


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n; (nan, nan) for n = 0."""
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k <= 0 else max(0.0, centre - half)  # exact ends: no 1e-18 rounding residue
    hi = 1.0 if k >= n else min(1.0, centre + half)
    return lo, hi


def rate_entry(key: str, hits) -> dict:
    """{key: rate, key_n, key_lo, key_hi} from a boolean array (1 = success)."""
    hits = np.asarray(hits, dtype=bool)
    n, k = int(hits.size), int(hits.sum())
    lo, hi = wilson(k, n)
    return {key: k / n if n else math.nan, f"{key}_n": n, f"{key}_lo": lo, f"{key}_hi": hi}


def share_entry(key: str, count: int, n: int) -> dict:
    """As rate_entry for a count out of n (e.g. the top class's share of samples)."""
    lo, hi = wilson(count, n)
    return {key: count / n if n else math.nan, f"{key}_n": n, f"{key}_lo": lo, f"{key}_hi": hi}


def auroc_entry(key: str, labels: np.ndarray, scores: np.ndarray, seed: int,
                rounds: int = BOOTSTRAP_ROUNDS) -> dict:
    """AUROC (positives = label 1) with a stratified percentile-bootstrap 95% interval."""
    from sklearn.metrics import roc_auc_score

    labels, scores = np.asarray(labels), np.asarray(scores)
    pos, neg = scores[labels == 1], scores[labels == 0]
    value = float(roc_auc_score(labels, scores))
    rng = np.random.default_rng(seed)
    boots = np.empty(rounds)
    for i in range(rounds):
        p = rng.choice(pos, size=len(pos))
        q = rng.choice(neg, size=len(neg))
        boots[i] = _auc(p, q)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {key: value, f"{key}_n": int(len(labels)), f"{key}_lo": float(lo), f"{key}_hi": float(hi)}


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score_pos > score_neg) + ½ P(tie), by ranks (Mann–Whitney U)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.r_[pos, neg])
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def code_mmd2(z: np.ndarray, seed: int, bandwidths=CODE_MMD_BANDWIDTHS) -> dict:
    """Unbiased RBF MMD² of codes (N, d) against N(0, I), and the floor: MMD² between two
    N(0, I) samples of the same size (what a perfectly Gaussian code would score)."""
    import torch

    from .losses import mmd2

    rng = np.random.default_rng(seed)
    z = np.asarray(z, dtype=np.float64)
    if len(z) > CODE_MMD_MAX:
        z = z[np.sort(rng.choice(len(z), CODE_MMD_MAX, replace=False))]
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(len(z), z.shape[1], generator=gen, dtype=torch.float64)
    b = torch.randn(len(z), z.shape[1], generator=gen, dtype=torch.float64)
    zt = torch.from_numpy(z)
    return {"code_mmd2_vs_normal": float(mmd2(zt, a, "rbf", bandwidths)),
            "code_mmd2_floor": float(mmd2(b, a, "rbf", bandwidths)),
            "code_mmd2_n": int(len(z))}
