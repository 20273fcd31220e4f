"""Is one setting better than another beyond seed noise? Used by the sweeps (a value's best
against the base value) and study_moons (the adopted setting against the base); the report
only phrases the verdicts. numpy + scipy, no torch."""

from __future__ import annotations

import numpy as np


def versus(a: list[float], b: list[float], alpha: float = 0.05) -> dict:
    """Is mean(a) below mean(b) beyond seed noise? Welch's t-test (two-sided, unequal
    variances); verdict 'lower' / 'higher' when p < alpha, else 'within seed noise'."""
    from scipy.stats import ttest_ind

    diff = float(np.mean(a) - np.mean(b))
    p = float(ttest_ind(a, b, equal_var=False).pvalue) if len(a) > 1 and len(b) > 1 else float("nan")
    verdict = ("lower" if diff < 0 else "higher") if p < alpha else "within seed noise"
    return {"mean_difference": diff, "ratio": float(np.mean(a) / np.mean(b)),
            "welch_p": p if np.isfinite(p) else None, "alpha": alpha, "verdict": verdict}
