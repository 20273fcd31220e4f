"""evaluate@<variant>: run every applicable task; write one flat metrics JSON and the figures.

metrics/eval/<variant>.json holds `<task>.<key>` entries (e.g. reconstruct.test.mse_per_pixel,
denoise.gauss_0.3.mse_recon), a few identifying strings (variant, model, dataset, kind),
`health` (aelab.health), and `skipped`: {task or task.part: reason} — nothing is skipped silently.
Figures go to plots/eval/<variant>/<task>*.png.
"""

from __future__ import annotations

import logging
import math
import time

from ..core import paths
from ..core.errors import AelabError
from ..core.timing import TIMING_KEY
from . import TASKS

log = logging.getLogger("aelab")


def _load_ood(dataset: str):
    """(Processed or None, its name, the reason when None) from ood@<dataset>'s file."""
    from ..data.contract import load_ood_set

    path = paths.ood_set(dataset)
    if not path.exists():
        return None, None, f"{path} not found (run `dvc repro ood@{dataset}`)"
    return load_ood_set(path)


def _check_inputs(name: str, v, state: dict, data) -> None:
    if state.get("dataset") != v.dataset:
        raise AelabError(f"evaluate@{name}: {paths.model_file(name)} was trained on "
                         f"{state.get('dataset')!r}, params say {v.dataset!r}; retrain it")
    if tuple(state["input_shape"]) != data.sample_shape:
        raise AelabError(f"evaluate@{name}: model input shape {tuple(state['input_shape'])} != "
                         f"data shape {data.sample_shape}; retrain it")


def tidy(metrics: dict, label: str) -> dict:
    """Round floats to 6 significant digits; refuse NaN/inf, naming the key."""
    from ..core.io import rounded

    for k, v in metrics.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise AelabError(f"{label}: metric {k!r} is {v}; not writing metrics")
    return rounded(metrics)


def run_tasks(ctx, label: str) -> tuple[dict, dict, dict]:
    """Run every task that applies; returns (flat metrics, skipped {task: reason},
    seconds {task: wall seconds}, which go to the timing file, not the metrics)."""
    from .common import TaskSkipped

    metrics, skipped, seconds = {}, {}, {}
    for task in TASKS.values():
        ok, why = task.applies(ctx.model, ctx.data)
        if not ok:
            skipped[task.name] = why
            continue
        start = time.perf_counter()
        try:
            result = task.run(ctx)
        except TaskSkipped as err:
            skipped[task.name] = str(err)
            continue
        seconds[task.name] = time.perf_counter() - start
        metrics.update({f"{task.name}.{k}": v for k, v in result.items()})
        log.info("%s: %s done in %.1f s", label, task.name, seconds[task.name])
    skipped.update(ctx.skipped)
    return metrics, skipped, seconds


def _health(params, name: str, model, metrics: dict) -> dict:
    """aelab.health checks on these metrics and train@'s (read for the divergence/KL checks)."""
    from ..health import evaluate_health
    from ..core.io import read_json

    train_file = paths.train_metrics(name)
    train = read_json(train_file) if train_file.exists() else {}
    verdict = evaluate_health(metrics, train, model.monotone_objective, params.health)
    if not verdict["ok"]:
        log.warning("evaluate@%s: health: %s", name,
                    "; ".join(f"{k}: {w['why']}" for k, w in verdict["warnings"].items()))
    return verdict


def evaluate_variant(params, name: str) -> dict:
    """Evaluate models/<name>.pt on data/processed/<dataset>.npz; returns the metrics written."""
    from ..checkpoint import load_checkpoint
    from ..data.contract import load_processed
    from ..core.io import rounded, staged_outputs, write_json
    from ..core.runtime import configure_torch, seed_everything
    from .common import make_context

    label, v, p = f"evaluate@{name}", params.variant(name), params.evaluate
    start = time.perf_counter()
    device = configure_torch(params.runtime.threads, params.runtime.device)
    seed_everything(p.seed)  # the global stream feeds the posterior sampling of VAEs
    for path in (paths.model_file(name), paths.processed(v.dataset)):
        if not path.exists():
            raise AelabError(f"{label}: {path} not found; run `dvc repro {label}` to build it")
    model, state = load_checkpoint(paths.model_file(name), device)
    data = load_processed(paths.processed(v.dataset))
    _check_inputs(name, v, state, data)
    ood, ood_name, ood_reason = (_load_ood(v.dataset) if data.kind == "image"
                                 else (None, None, "point data"))
    # figures and metrics go to hidden temp paths, swapped in at the end (metrics last): a kill
    # leaves the old set or the new one, and a task that now skips leaves no stale figure
    with staged_outputs(paths.eval_plots(name), paths.eval_metrics(name)) as (plots, metrics_file):
        ctx = make_context(model, data, p, plots, device, ood, ood_name, ood_reason or "no OOD data")
        metrics, skipped, seconds = run_tasks(ctx, label)
        metrics = {"variant": name, "model": v.model, "dataset": v.dataset, "kind": data.kind, **metrics}
        metrics = tidy(metrics, label)
        metrics = {**metrics, "health": rounded(_health(params, name, model, metrics)), "skipped": skipped}
        write_json(metrics_file, metrics)
    log.info("%s: %d metrics, %d tasks skipped (%s), %.1f s", label, len(metrics) - 1, len(skipped),
             ", ".join(sorted(skipped)) or "none", time.perf_counter() - start)
    return {**metrics, TIMING_KEY: {"tasks_s": seconds}}
