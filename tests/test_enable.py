"""`python -m aelab.enable` turns an opt-in dataset on with one command, keeping comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from aelab.enable import enable
from aelab.params import load_params

ROOT = Path(__file__).resolve().parents[1]


def test_enable_moves_twins_and_keeps_comments(tmp_path):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    raw = yaml.safe_load(path.read_text())
    raw.setdefault("optional_variants", {})["cats_test_twin"] = {
        "dataset": "cats", "model": "mlp_ae", "model_args": {"bottleneck_size": 4}}
    text = path.read_text().split("\noptional_variants:")[0]
    path.write_text(text + "\n" + yaml.safe_dump({"optional_variants": raw["optional_variants"]}))
    comments_before = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]

    moved = enable(path, "cats", source="/data/afhq.zip")

    assert "cats_test_twin" in moved
    p = load_params(path)  # still valid
    assert "cats" in p.datasets
    assert p.variant("cats_test_twin").dataset == "cats"
    assert "cats_test_twin" not in p.optional_variants
    assert p.dataset_cfg("cats").source == "/data/afhq.zip"
    comments_after = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
    assert comments_after == comments_before
