"""Every path the pipeline reads or writes, built from (stage, dataset/variant).

dvc.yaml mirrors these templates; tests/test_dvc_yaml.py renders dvc.yaml through DVC
and checks that each stage's outs are exactly the paths below, so the two cannot drift.
"""

from __future__ import annotations

from pathlib import Path

PARAMS = Path("params.yaml")


def raw_dir(dataset: str) -> Path:
    return Path("data/raw") / dataset


def processed(dataset: str) -> Path:
    return Path("data/processed") / f"{dataset}.npz"


def ood_set(dataset: str) -> Path:
    """The out-of-distribution test images evaluate@ scores against `dataset`'s (ood@)."""
    return Path("data/ood") / f"{dataset}.npz"


def preprocess_preview(dataset: str) -> Path:
    """Raw originals above their preprocessed versions (points: raw vs standardized scatter)."""
    return Path("plots/preprocess") / f"{dataset}.png"


def model_file(variant: str) -> Path:
    return Path("models") / f"{variant}.pt"


def train_metrics(variant: str) -> Path:
    return Path("metrics/train") / f"{variant}.json"


def train_plots(variant: str) -> Path:
    """dvclive directory: plots/train/<variant>/plots/metrics/*.tsv per-epoch curves."""
    return Path("plots/train") / variant


def eval_metrics(variant: str) -> Path:
    return Path("metrics/eval") / f"{variant}.json"


def eval_plots(variant: str) -> Path:
    return Path("plots/eval") / variant


def rf_metrics(variant: str) -> Path:
    return Path("metrics/rf") / f"{variant}.json"


def rf_plots(variant: str) -> Path:
    return Path("plots/rf") / variant


def rf_confusion(variant: str) -> Path:
    """classify@'s confusion data (CSV, committed for `dvc plots diff`); its PNGs: rf_plots."""
    return Path("plots/rf_confusion") / variant


def study_data(study: str) -> Path:
    """A study's plot data (CSV/JSON, committed); its PNG figures: study_plots (DVC cache)."""
    return Path("plots/studies_data") / study


def study_metrics(study: str) -> Path:
    return Path("metrics/studies") / f"{study}.json"


def study_plots(study: str) -> Path:
    return Path("plots/studies") / study


def headline_dir() -> Path:
    """metrics/headline/<variant>.json + _studies.json: the declared metrics (aelab.headline)."""
    return Path("metrics/headline")


def timing_file(label: str) -> Path:
    """timing/<stage>@<target>.json: wall seconds and peak memory of one stage run. Kept out
    of metrics/ and of git (.gitignore) and undeclared in dvc.yaml, so identical results
    give identical tracked files and `dvc metrics diff` shows no timing noise."""
    return Path("timing") / f"{label}.json"


def report_dir() -> Path:
    return Path("report")
