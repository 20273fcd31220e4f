"""What the study stages share: setup, variant checks, statistics over repeats, output dirs."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import numpy as np

from ..core import paths
from ..core.errors import ConfigError

log = logging.getLogger("aelab")


def setup(params):
    """Threads (studies.threads, AELAB_THREADS overrides), seeds, the figure style; → device."""
    from ..core.runtime import configure_torch, seed_everything
    from ..tasks.common import set_style

    device = configure_torch(params.studies.threads, params.runtime.device)
    seed_everything(params.seed)
    set_style()
    return device


def study_entry(params, study: str, name: str):
    """(entry, dotted key) of studies.<study>.<name>, or a ConfigError listing the entries."""
    entries = getattr(params.studies, study)
    if name not in entries:
        raise ConfigError(f"studies.{study}", f"no entry {name!r}; entries: {sorted(entries)}")
    return entries[name], f"studies.{study}.{name}"


def nearest_train_mse(x, train, batch: int = 4096):
    """(N,) MSE per pixel from each row of x (N, D) to its closest row of train (M, D),
    over batches of training rows (torch.cdist; squared distances clamped at 0)."""
    import torch

    best = torch.full((len(x),), math.inf)
    for i in range(0, len(train), batch):
        d2 = torch.cdist(x, train[i:i + batch]).pow(2).clamp_min(0)  # (N, ≤ batch)
        best = torch.minimum(best, d2.min(1).values)
    return best / x.shape[1]


def check_variant(params, name: str, key: str, dataset: str | None = None):
    """The resolved variant `name`, or a ConfigError naming the study's key `key`."""
    if name not in params.variants:
        raise ConfigError(key, f"unknown variant {name!r}; choose from {sorted(params.variants)}")
    v = params.variant(name)
    if dataset is not None and v.dataset != dataset:
        raise ConfigError(key, f"variant {name!r} is trained on {v.dataset!r}, this study needs {dataset!r}")
    return v


def load_variant_model(name: str, device):
    """(model in eval mode, checkpoint record) of a trained variant; conv weights
    channels-last on a CPU, as evaluate@ runs them (core.runtime.cpu_layout)."""
    from ..checkpoint import load_checkpoint
    from ..core.errors import AelabError
    from ..core.runtime import cpu_layout

    path = paths.model_file(name)
    if not path.exists():
        raise AelabError(f"{path} not found; run `dvc repro train@{name}` first")
    model, record = load_checkpoint(path, device)
    return cpu_layout(model, device), record


def stats(values) -> dict:
    """mean/std (population)/min/max/n of a list of numbers."""
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
            "max": float(a.max()), "n": int(a.size)}


def fresh_dir(path: Path) -> Path:
    """An empty plots directory (DVC removes outs before a run; a manual run may not)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def write_study(study: str, metrics: dict, figures: dict) -> dict:
    """metrics/studies/<study>.json and plots/studies/<study>/<file> for each
    figures[file] (a callable → matplotlib figure), staged and swapped in together, metrics
    last (a failed figure leaves the old outputs); returns the metrics as written (rounded)."""
    from ..core.io import rounded, save_figure, staged_outputs, write_json

    with staged_outputs(paths.study_plots(study), paths.study_metrics(study)) as (plots, metrics_file):
        plots.mkdir()
        for file, draw in figures.items():
            save_figure(draw(), plots / file)
        metrics = rounded(metrics)
        write_json(metrics_file, metrics)
    return metrics
