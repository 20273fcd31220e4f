"""`python -m aelab.enable` turns an opt-in dataset on with one command, keeping comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aelab.enable import enable
from aelab.params import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dataset", ["cifar10", "cats", "pistachios"])
def test_enable_moves_twins_and_keeps_comments(tmp_path, dataset):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    twins = {k for k, v in yaml.safe_load(path.read_text())["optional_variants"].items()
             if v["dataset"] == dataset}
    assert twins, f"params.yaml has no optional twins for {dataset}"
    comments_before = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]

    moved = enable(path, dataset, source="/data/archive.zip")

    assert set(moved) == twins
    p = load_params(path)  # still valid
    assert dataset in p.datasets
    assert all(p.variant(v).dataset == dataset for v in twins)
    assert not twins & set(p.optional_variants)
    assert p.dataset_cfg(dataset).source == "/data/archive.zip"
    comments_after = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
    assert comments_after == comments_before
    assert len(p.variants) == len(load_params(ROOT / "params.yaml").variants) + len(twins)
