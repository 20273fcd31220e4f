"""dvc.yaml and src/aelab/paths.py name the same files (paths are not typed twice unchecked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aelab import paths
from aelab.params import load_params

ROOT = Path(__file__).resolve().parents[1]

# stage name → function of the item giving the outputs that stage must declare
EXPECTED = {
    "download": lambda d: {paths.raw_dir(d)},
    "preprocess": lambda d: {paths.processed(d)},
    "train": lambda v: {paths.model_file(v), paths.train_metrics(v), paths.train_plots(v)},
    "evaluate": lambda v: {paths.eval_metrics(v), paths.eval_plots(v)},
    "classify": lambda v: {paths.rf_metrics(v), paths.rf_plots(v)},
}


@pytest.fixture(scope="module")
def stages():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {s.addressing: {Path(str(o.def_path)) for o in s.outs} for s in repo.index.stages}


def test_every_fanned_out_stage_declares_the_paths_of_paths_py(stages):
    params = load_params(ROOT / "params.yaml")
    items = {"download": params.datasets, "preprocess": params.datasets,
             "train": list(params.variants), "evaluate": list(params.variants)}
    for stage, names in items.items():
        for name in names:
            assert stages[f"{stage}@{name}"] == EXPECTED[stage](name), f"{stage}@{name}"


def test_classify_stages_match_paths(stages):
    for addr, outs in stages.items():
        if addr.startswith("classify@"):
            assert outs == EXPECTED["classify"](addr.split("@", 1)[1])


def test_report_output(stages):
    assert stages["report"] == {paths.report_dir()}
