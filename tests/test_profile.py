"""The study-settings profile (aelab.profile): it changes only settings that exist, both
profiles name the same keys, the default profile is what params.yaml holds, switching to
the study settings and back restores params.yaml byte for byte, and the result validates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from aelab.core.errors import ConfigError
from aelab.core.params import load_params
from aelab.profile import PROFILES_DIR, _walk, apply, dvc_args, load_profile

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def params_copy(tmp_path) -> Path:
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    return path


def _value(doc: dict, dotted: str):
    parent, last = _walk(doc, dotted)
    return parent[last]


def test_both_profiles_name_the_same_existing_keys():
    study, default = (load_profile(n, ROOT / PROFILES_DIR) for n in ("study", "default"))
    assert study and set(study) == set(default)
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key in study:
        _value(doc, key)  # raises ConfigError naming the key if params.yaml lacks it
    assert any(study[k] != default[k] for k in study)


def test_default_profile_is_what_params_yaml_holds():
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())
    default = load_profile("default", ROOT / PROFILES_DIR)
    assert {k: _value(doc, k) for k in default} == default


def test_study_then_default_restores_params_byte_for_byte(params_copy):
    before = params_copy.read_bytes()
    study = load_profile("study", ROOT / PROFILES_DIR)
    changed = apply(study, params_copy)
    assert changed and set(changed) <= set(study)
    p = load_params(params_copy)  # the study settings validate as a whole
    assert p.variant("mnist_conv_vae_z2").train.epochs == study["variants.mnist_conv_vae_z2.train.epochs"]
    assert set(apply(load_profile("default", ROOT / PROFILES_DIR), params_copy)) == set(changed)
    assert params_copy.read_bytes() == before


def test_a_profile_with_an_unknown_key_is_refused_and_changes_nothing(params_copy):
    before = params_copy.read_bytes()
    with pytest.raises(ConfigError, match=r"^variants\.mnist_conv_vae_z2\.train\.epochs_typo: not in params"):
        apply({"variants.mnist_conv_vae_z2.train.epochs_typo": 3}, params_copy)
    with pytest.raises(ConfigError, match=r"train\.lr: must be > 0"):  # validated before the swap
        apply({"train.lr": -1.0}, params_copy)
    assert params_copy.read_bytes() == before


def test_dvc_args_are_one_shell_word_per_value():
    args = dvc_args({"a.b": 3, "c": [1, 2], "d": "cosine"})
    assert args == ["-S", "a.b=3", "-S", "c=[1,2]", "-S", 'd="cosine"']
