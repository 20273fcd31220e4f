"""`python -m aelab.enable` turns an opt-in dataset on with one command, keeping comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aelab.enable import enable, optional_variants
from aelab.core.errors import ConfigError
from aelab.core.params import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dataset", ["cifar10", "cats", "pistachios"])
def test_enable_moves_twins_and_keeps_comments(tmp_path, dataset):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    twins = {k for k, v in optional_variants().items() if v["dataset"] == dataset}
    assert twins, f"src/aelab/optional_variants.yaml has no twins for {dataset}"
    comments_before = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]

    moved = enable(path, dataset, source="/data/archive.zip")

    assert set(moved) == twins
    p = load_params(path)  # still valid
    assert dataset in p.datasets
    assert all(p.variant(v).dataset == dataset for v in twins)
    assert enable(path, dataset) == []  # a second run copies nothing twice
    assert p.dataset_cfg(dataset).source == "/data/archive.zip"
    comments_after = [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]
    assert comments_after == comments_before
    assert len(p.variants) == len(load_params(ROOT / "params.yaml").variants) + len(twins)


def test_every_catalogue_variant_is_a_complete_valid_block(tmp_path):
    """The strict loader on params.yaml with every catalogue entry copied into `variants`
    (its dataset enabled): a missing setting or a bad value names the entry's key."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    catalogue = optional_variants()
    assert {"emoji_gan", "cats_gan", "cifar10_gan", "pistachios_gan"} <= set(catalogue)
    assert not set(catalogue) & set(params["variants"])
    params["variants"].update(catalogue)
    params["datasets"] += sorted({v["dataset"] for v in catalogue.values()} - set(params["datasets"]))
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    p = load_params(path)
    assert all(p.variant(v).dataset == catalogue[v]["dataset"] for v in catalogue)
    del params["variants"]["emoji_gan"]["leak"]
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == "variants.emoji_gan.leak"
