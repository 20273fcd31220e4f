"""Broken files and bad settings give one line that says what to do, never a traceback.

A truncated/empty/garbage processed .npz, model .pt or SOURCE.json names the file and the
`dvc repro` command that rebuilds it; a repeated key in params.yaml and out-of-range data
settings are refused naming the dotted key; files the project writes get umask modes.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile

import numpy as np
import pytest
import torch

from aelab.core import io as aelab_io
from aelab.checkpoint import load_checkpoint, save_checkpoint
from aelab.core.config import parse
from aelab.data import contract
from aelab.data.points import MoonsConfig
from aelab.data.registry import DATASETS
from aelab.core.errors import AelabError, ConfigError, CorruptArtefact
from aelab.models import build_model
from aelab.core.params import load_params, user_errors


def _processed() -> contract.Processed:
    x = np.zeros((4, 1, 8, 8), np.uint8)
    y = np.zeros(4, np.int64)
    meta = {"name": "digits", "kind": "image", "shape": [1, 8, 8], "value_range": [0, 16],
            "binarized": False, "class_names": [], "source": "test", "skipped": {}}
    return contract.Processed(x, y, x.copy(), y.copy(), meta)


def _one_line(capsys, fn) -> str:
    with pytest.raises(SystemExit) as exc:
        with user_errors("evaluate@v"):
            fn()
    lines = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(lines) == 1, lines
    return lines[0]


def _break(path, how: str) -> None:
    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"GIF89a not what you think" * 40)
    elif how == "missing":
        path.unlink()


# --- processed datasets ------------------------------------------------------------------------

@pytest.mark.parametrize("how, words", [("empty", "is empty (0 bytes)"), ("truncated", "not a readable .npz"),
                                        ("garbage", "is not a .npz"), ("missing", "does not exist")])
def test_broken_npz_names_file_and_preprocess_stage(tmp_path, capsys, how, words):
    path = tmp_path / "data" / "processed" / "cats.npz"
    contract.save_processed(path, _processed())
    _break(path, how)
    line = _one_line(capsys, lambda: contract.load_processed(path))
    assert str(path) in line and words in line and line.endswith("`dvc repro preprocess@cats`")


@pytest.mark.parametrize("meta, words", [("{not json", "meta is not valid JSON"), ("[1, 2]", "JSON list"),
                                         ('{"name": "x"}', "breaks the data contract")])
def test_bad_meta_json_names_file_and_preprocess_stage(tmp_path, meta, words):
    p = _processed()
    path = tmp_path / "digits.npz"
    aelab_io.write_npz(path, {"x_train": p.x_train, "y_train": p.y_train, "x_test": p.x_test,
                              "y_test": p.y_test, "meta": np.array(meta)})
    with pytest.raises(CorruptArtefact) as err:
        contract.load_processed(path)
    assert words in str(err.value) and "dvc repro preprocess@digits" in str(err.value)


def test_npz_without_meta_or_holding_a_pickle_is_refused(tmp_path):
    path = tmp_path / "moons.npz"
    np.savez(path, x_train=np.zeros(3))
    with pytest.raises(CorruptArtefact, match=r"lacks \['meta'"):
        contract.load_processed(path)
    np.savez(path, meta=np.array([{"a": 1}], dtype=object), x_train=np.zeros(1), y_train=np.zeros(1),
             x_test=np.zeros(1), y_test=np.zeros(1))  # object array = pickle inside
    with pytest.raises(CorruptArtefact, match="preprocess@moons"):
        contract.load_processed(path)


def test_good_npz_still_loads(tmp_path):
    contract.save_processed(tmp_path / "digits.npz", _processed())
    assert contract.load_processed(tmp_path / "digits.npz").meta["name"] == "digits"


def test_bad_source_json_names_the_download_stage(tmp_path):
    raw = tmp_path / "raw" / "cats"
    raw.mkdir(parents=True)
    (raw / contract.SOURCE_FILE).write_text('{"source": "x"')
    with pytest.raises(CorruptArtefact, match=r"SOURCE\.json: is not readable JSON.*dvc repro download@cats"):
        contract.raw_source(raw)


# --- model files -------------------------------------------------------------------------------

@pytest.mark.parametrize("how, words", [("empty", "is empty (0 bytes)"), ("truncated", "not a loadable model file"),
                                        ("garbage", "not a loadable model file"), ("missing", "does not exist")])
def test_broken_checkpoint_names_file_and_train_stage(tmp_path, capsys, how, words):
    path = tmp_path / "models" / "moons_ae_z1.pt"
    model = build_model("mlp_ae", {"latent_dim": 1, "hidden_size": 8, "layers": 2}, (2,))
    save_checkpoint(path, model, model_name="mlp_ae", variant="moons_ae_z1", dataset="moons")
    _break(path, how)
    line = _one_line(capsys, lambda: load_checkpoint(path))
    assert str(path) in line and words in line and line.endswith("`dvc repro train@moons_ae_z1`")


def test_stale_or_hostile_checkpoint_is_refused(tmp_path):
    path = tmp_path / "v.pt"
    torch.save({"model": "no_such_model", "model_args": {}, "input_shape": [2], "state_dict": {}}, path)
    with pytest.raises(CorruptArtefact, match="dvc repro train@v"):
        load_checkpoint(path)
    torch.save({"model": "mlp_ae", "model_args": {"latent_dim": 1, "hidden_size": 8, "layers": 2},
                "input_shape": [2], "state_dict": {"w": torch.zeros(1)}}, path)  # wrong weights
    with pytest.raises(CorruptArtefact, match="state_dict"):
        load_checkpoint(path)
    torch.save({"model": "mlp_ae", "obj": zipfile.ZipInfo("x")}, path)  # a class: weights_only refuses
    with pytest.raises(CorruptArtefact, match="UnpicklingError"):
        load_checkpoint(path)


# --- params.yaml -------------------------------------------------------------------------------

def test_repeated_yaml_key_is_refused_with_dotted_path_and_lines(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("seed: 0\ndata:\n  moons:\n    noise: 0.1\n    seed: 0\n    noise: 0.3\n")
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == "data.moons.noise"
    assert "repeated at line 6 (first at line 4)" in str(err.value)
    path.write_text("datasets: [moons]\nseed: 1\nseed: 2\n")
    with pytest.raises(ConfigError, match="seed: key repeated at line 3"):
        load_params(path)


def test_yaml_merge_keys_may_still_override_a_merged_key(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("data:\n  digits: &d {seed: 3}\n  moons:\n    <<: *d\n    seed: 5\n    noise: 0.2\n")
    cfg = load_params(path, strict=False).dataset_cfg("moons")  # a partial file: defaults fill the rest
    assert cfg.seed == 5 and cfg.noise == 0.2


@pytest.mark.parametrize("name, data, key", [
    ("moons", {"noise": 1.5}, "data.moons.noise"),
    ("moons", {"test_noises": [0.2, 2.0]}, "data.moons.test_noises[1]"),
    ("moons", {"test_noises": [0.2, 0.2]}, "data.moons.test_noises"),
    ("moons", {"seed": 2**40}, "data.moons.seed"),
    ("digits", {"test_size": 0}, "data.digits.test_size"),
    ("digits", {"seed": 2**32}, "data.digits.seed"),
    ("emoji", {"max_aspect": 0.5}, "data.emoji.max_aspect"),
    ("cats", {"max_pixels": 0}, "data.cats.max_pixels"),
    ("cats", {"max_member_mib": 0}, "data.cats.max_member_mib"),
    ("pistachios", {"test_size": 1.0}, "data.pistachios.test_size"),
    ("cifar10", {"max_total_mib": -1}, "data.cifar10.max_total_mib"),
    ("mnist", {"seed": -1}, "data.mnist.seed"),
])
def test_out_of_range_data_settings_are_refused_naming_the_key(name, data, key):
    with pytest.raises(ConfigError) as err:
        parse(DATASETS[name].config, data, f"data.{name}")
    assert err.value.key == key


def test_moons_noise_bounds_are_inclusive():
    assert parse(MoonsConfig, {"noise": 0.0, "test_noises": [1.0]}, "data.moons").noise == 0.0
    assert parse(MoonsConfig, {"noise": 1.0}, "data.moons").noise == 1.0


# --- file modes --------------------------------------------------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path, umask, mode):
    old = os.umask(umask)
    aelab_io._umask.cache_clear()
    try:
        aelab_io.write_json(tmp_path / "m.json", {"a": 1})
        aelab_io.write_npz(tmp_path / "d.npz", {"x": np.zeros(2)})
        model = build_model("mlp_ae", {"latent_dim": 1, "hidden_size": 8, "layers": 2}, (2,))
        save_checkpoint(tmp_path / "v.pt", model, model_name="mlp_ae", variant="v", dataset="moons")
    finally:
        os.umask(old)
        aelab_io._umask.cache_clear()
    for name in ("m.json", "d.npz", "v.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}


def test_corrupt_artefact_is_an_aelab_error():
    assert issubclass(CorruptArtefact, AelabError)
