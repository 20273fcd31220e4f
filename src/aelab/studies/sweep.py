"""moons_sweep@<axis>: one hyperparameter of the bottleneck-1 moons autoencoder at a time.

Every value of studies.moons_sweep.axes[<axis>] replaces that field of the base setting;
each point is trained `repeats` times (model seeds seed … seed+repeats−1, same data) with
aelab.train.fit. Each axis is its own DVC stage with its own params key, so changing one
axis reruns only that axis.

Outputs: metrics/studies/moons_sweep_<axis>.json (test/train MSE per coordinate,
standardized units: mean, std, min, max over repeats; the best value and, when it is not
the base value, whether it beats the base beyond seed noise: compare.versus), and
plots/studies/moons_sweep_<axis>/ (error vs value with ±1 std bars; reconstructed vs
original test points for selected values).
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
from tqdm.auto import tqdm

from ..data.contract import from_model_output
from ..core.errors import TrainingDiverged
from .compare import versus
from ..core.timing import TIMING_KEY
from .common import setup, stats, write_study
from .config import MoonsSweepParams
from .moons import mse, recon, train_setting

log = logging.getLogger("aelab")
UNITS = "MSE per coordinate, standardized space (the training loss)"


def label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclasses.dataclass(frozen=True)
class Shown:
    """Repeat 0 of one value drawn in the reconstruction figure (data units)."""

    test: np.ndarray  # (N_test, 2) test points
    recon: np.ndarray  # (N_test, 2) their reconstructions
    test_mse: float  # per coordinate, standardized space


def sweep_axis(sweep: MoonsSweepParams, axis: str, seed: int, device) -> tuple[dict, dict[str, Shown], dict]:
    """Train every (value, repeat); → (metrics, {value label: Shown} for the values drawn in
    the reconstruction figure, {value label: mean seconds per run})."""
    values = sweep.axes[axis]
    show = set(_shown(len(values), sweep.show))
    points, keep, runs, seconds = {}, {}, [], {}
    bar = tqdm([(i, r) for i in range(len(values)) for r in range(sweep.repeats)], disable=None,
               desc=f"moons_sweep@{axis}", unit="run")
    for i, r in bar:
        s = sweep.setting(axis, values[i])
        try:
            model, res, data = train_setting(s, seed + r, device, name=f"{axis}={label(values[i])}#{r}")
        except TrainingDiverged as err:  # e.g. a too large lr: recorded, not fatal
            log.warning("moons_sweep@%s: %s", axis, err)
            runs.append((i, None, None, 0.0))
            continue
        runs.append((i, mse(model, data.x_test, device), mse(model, data.x_train, device), res.seconds))
        if r == 0 and i in show:
            keep[label(values[i])] = Shown(from_model_output(data.x_test, data.meta),
                                           from_model_output(recon(model, data.x_test, device), data.meta),
                                           runs[-1][1])
        log.info("moons_sweep@%s: %s = %s, seed %d: test MSE %.5f", axis, axis, label(values[i]),
                 seed + r, runs[-1][1])
    for i, v in enumerate(values):
        mine = [run for run in runs if run[0] == i and run[1] is not None]
        points[label(v)] = {"value": v, "diverged": sweep.repeats - len(mine)}
        if mine:
            points[label(v)].update(test_mse=stats([m[1] for m in mine]), train_mse=stats([m[2] for m in mine]))
            seconds[label(v)] = float(np.mean([m[3] for m in mine]))  # the timing file's, not the metrics'
    done = [k for k in points if "test_mse" in points[k]]
    if not done:
        raise TrainingDiverged(f"moons_sweep@{axis}: every run diverged; no metrics written")
    best = min(done, key=lambda k: points[k]["test_mse"]["mean"])
    base = label(getattr(sweep.base, axis))
    metrics = {"axis": axis, "values": [label(v) for v in values], "repeats": sweep.repeats,
               "seeds": [seed + r for r in range(sweep.repeats)], "units": UNITS,
               "base": dataclasses.asdict(sweep.base), "points": points,
               "best": {"value": points[best]["value"], "test_mse_mean": points[best]["test_mse"]["mean"]}}
    if best != base and base in done:  # the best value against the base's over the same seeds
        test_mse = lambda k: [run[1] for run in runs if label(values[run[0]]) == k and run[1] is not None]  # noqa: E731
        metrics["best"]["vs_base"] = versus(test_mse(best), test_mse(base))
    return metrics, keep, seconds


def _shown(n: int, k: int) -> list[int]:
    """Indices of k values spread over n (first, …, last)."""
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, min(k, n))})


def moons_sweep(params, axis: str) -> dict:
    """The stage: metrics/studies/moons_sweep_<axis>.json, plots/studies/moons_sweep_<axis>/."""
    from ..core.errors import ConfigError

    sweep = params.studies.moons_sweep
    if axis not in sweep.axes:
        raise ConfigError("studies.moons_sweep.axes", f"no axis {axis!r}; axes: {sorted(sweep.axes)}")
    device = setup(params)
    start = time.perf_counter()
    metrics, keep, seconds = sweep_axis(sweep, axis, params.seed, device)
    study = f"moons_sweep_{axis}"
    written = write_study(study, metrics, {"error_vs_value.png": lambda: error_figure(metrics),
                                           "reconstructions.png": lambda: recon_figure(metrics, keep)})
    log.info("%s: best %s = %s (test MSE %.5f) in %.0f s", study, axis, label(metrics["best"]["value"]),
             metrics["best"]["test_mse_mean"], time.perf_counter() - start)
    return {**written, TIMING_KEY: {"seconds_per_run": seconds}}  # wall clock goes to timing/, untracked


def error_figure(m: dict):
    """Test (and train) MSE vs the axis value: mean ± std over repeats, repeats as dots."""
    import matplotlib.pyplot as plt

    pts = [p for p in m["points"].values() if "test_mse" in p]  # diverged points have none
    vals = [p["value"] for p in pts]
    numeric = all(isinstance(v, (int, float)) for v in vals)
    x = np.asarray(vals, float) if numeric else np.arange(len(vals))
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for split, color in (("test_mse", "tab:red"), ("train_mse", "tab:blue")):
        mean = np.array([p[split]["mean"] for p in pts])
        std = np.array([p[split]["std"] for p in pts])
        ax.errorbar(x, mean, yerr=std, marker="o", capsize=4, color=color,
                    ls="-" if split == "test_mse" else "--", label=f"{split[:-4]} (mean ± std)")
        ax.scatter(np.repeat(x, 2), np.ravel([[p[split]["min"], p[split]["max"]] for p in pts]),
                   color=color, s=10, alpha=0.4, label=f"{split[:-4]} min / max")
    base = m["base"][m["axis"]]
    if numeric and base is not None:
        ax.axvline(base, color="0.5", ls=":", label=f"base {m['axis']} = {label(base)}")
        if max(x) / max(min(x), 1e-12) >= 10:
            ax.set_xscale("log")
    if not numeric:
        ax.set_xticks(x, [str(v) for v in vals])
    lo, hi = min(p["test_mse"]["min"] for p in pts), max(p["test_mse"]["max"] for p in pts)
    if hi / max(lo, 1e-12) >= 10:
        ax.set_yscale("log")
    ax.set(xlabel=m["axis"], ylabel="reconstruction MSE per coordinate (standardized)",
           title=f"Two moons, bottleneck 1: error vs {m['axis']} ({m['repeats']} seeds per point)\n"
                 f"best {m['axis']} = {label(m['best']['value'])}")
    ax.legend(fontsize=8)
    return fig


def recon_figure(m: dict, keep: dict[str, Shown]):
    """Test points (grey) and their reconstructions (red) for the selected values (seed 0)."""
    import matplotlib.pyplot as plt

    n = len(keep)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    for ax, (value, shown) in zip(axes[0], keep.items()):
        ax.scatter(*shown.test.T, s=4, c="0.7", label="test original")
        ax.scatter(*shown.recon.T, s=4, c="tab:red", label="reconstruction")
        ax.set(title=f"{m['axis']} = {value}: test MSE {shown.test_mse:.3g}", xlabel="x₁")
    axes[0][0].set_ylabel("x₂")
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Reconstructed vs original test points (seed {m['seeds'][0]}) across {m['axis']}")
    return fig
