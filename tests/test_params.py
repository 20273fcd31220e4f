"""params.yaml validation: every bad value exits 2 with one line naming the dotted key."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aelab.core.cli import stage_main
from aelab.core.config import parse
from aelab.core.errors import ConfigError
from aelab.core.params import TrainParams, load_params

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "params.yaml").read_text())


def _set(d: dict, dotted: str, value):
    *parents, last = dotted.split(".")
    for p in parents:
        d = d[p]
    if value is _DELETE:
        del d[last]
    else:
        d[last] = value


_DELETE = object()

# (dotted key to change, bad value, dotted key the error must name, words it must contain)
BAD = [
    ("seed", -1, "seed", ">= 0"),
    ("seed", "zero", "seed", "integer"),
    ("runtime.device", "tpu", "runtime.device", "'auto'"),
    ("runtime.thread", 2, "runtime.thread", "did you mean 'threads'"),
    ("train.lr", -0.1, "train.lr", "> 0"),
    ("train.lr", "fast", "train.lr", "number"),
    ("train.epochs", 0, "train.epochs", ">= 1"),
    ("train.optimizer", "adamax", "train.optimizer", "'adam'"),
    ("train.bf16", "yes", "train.bf16", "true or false"),
    ("datasets", ["moons", "imagenet"], "datasets[1]", "unknown dataset"),
    ("data.moons.noise", -0.5, "data.moons.noise", ">= 0"),
    ("data.moons.n_trian", 10, "data.moons.n_trian", "did you mean 'n_train'"),
    ("data.digits.test_size", 1.5, "data.digits.test_size", "< 1"),
    ("variants.moons_ae_z1.model", "transformer", "variants.moons_ae_z1.model", "unknown model"),
    ("variants.moons_ae_z1.dataset", "cifar10", "variants.moons_ae_z1.dataset", "not enabled"),
    ("variants.moons_ae_z1.latent_dim", 0,
     "variants.moons_ae_z1.latent_dim", ">= 1"),
    ("variants.moons_ae_z1.hiden_size", 8,
     "variants.moons_ae_z1.hiden_size", "did you mean 'hidden_size'"),
    ("variants.moons_ae_z1.train.batch_size", 2.5, "variants.moons_ae_z1.train.batch_size", "integer"),
    ("variants.moons_ae_z1.train.nesterov", True, "variants.moons_ae_z1.train.nesterov", "unknown key"),
    ("variants.moons_ae_z1.train.momentum", 1.0, "variants.moons_ae_z1.train.momentum", "< 1"),
    ("variants.moons_ae_z1.loss", "bce", "variants.moons_ae_z1.loss", "sigmoid"),
    ("variants.moons_ae_z1.dataset", _DELETE, "variants.moons_ae_z1.dataset", "required"),
    # model settings sit directly under the variant; a nested `model_args:` is not a setting
    ("variants.moons_ae_z1.model_args", {"hidden_size": 8}, "variants.moons_ae_z1.model_args",
     "or dataset, model, train, description"),
    # the MLP family's old name for the latent size is gone (latent_dim everywhere)
    ("variants.moons_ae_z1.bottleneck_size", 2, "variants.moons_ae_z1.bottleneck_size", "settings of model 'mlp_ae'"),
]


@pytest.mark.parametrize("key,value,named,words", BAD, ids=[f"{b[0]}={'<deleted>' if b[1] is _DELETE else repr(b[1])}" for b in BAD])
def test_bad_value_exits_2_naming_the_key(tmp_path, monkeypatch, capsys, key, value, named, words):
    params = copy.deepcopy(BASE)
    _set(params, key, value)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    monkeypatch.setattr(sys, "argv", ["train.py", "moons_ae_z1", "--params", str(path)])
    ran = []
    with pytest.raises(SystemExit) as exc:
        stage_main("train", lambda p, n: ran.append(n), target="variant")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"params.yaml: {named}:" in err[0]
    assert words in err[0]
    assert ran == []  # validated before any work


def test_default_params_are_valid():
    p = load_params(ROOT / "params.yaml")
    assert p.variants and p.datasets
    for name in p.variants:
        v = p.variant(name)
        assert v.dataset in p.datasets


def test_loading_params_imports_no_heavy_libraries():
    # Every stage validates params.yaml before any work; torch alone costs ~2 s of that
    # start-up, so validation must stay on the light registries (models/configs.py, the
    # dataset modules with their work-time imports inside functions). A fresh interpreter,
    # since this test process has long imported them all.
    heavy = ["torch", "matplotlib", "sklearn", "PIL"]
    child = (f"import json, sys; from aelab.core.params import load_params; "
             f"load_params({str(ROOT / 'params.yaml')!r}); "
             f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True,
                         timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_float_strings_from_dvc_exp_run_load_as_floats():
    # `dvc exp run -S train.lr=1e-06` writes 1e-06, which PyYAML reads as the string '1e-06'
    raw = yaml.safe_load("lr: 1e-06\nepochs: 3\n")
    assert raw["lr"] == "1e-06"
    cfg = parse(TrainParams, raw, "train")
    assert isinstance(cfg.lr, float) and cfg.lr == pytest.approx(1e-6)


def test_variant_train_overrides_only_named_keys():
    p = load_params(ROOT / "params.yaml")
    v = p.variant("moons_ae_z1")
    overrides = BASE["variants"]["moons_ae_z1"].get("train", {})
    assert overrides, "moons_ae_z1 names no train key: the test has nothing to check"
    for field, value in overrides.items():  # the named keys take the variant's value …
        assert getattr(v.train, field) == value, field
    kept = [f for f in ("optimizer", "weight_decay", "bf16") if f not in overrides]
    assert kept, "every checked key is overridden: pick keys the variant leaves alone"
    for field in kept:  # … the others keep the top-level train section's
        assert getattr(v.train, field) == getattr(p.train, field), field


def test_params_are_frozen():
    p = load_params(ROOT / "params.yaml")
    seed = p.seed
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'seed'"):
        p.seed = seed + 1  # type: ignore[misc]
    assert p.seed == seed
    with pytest.raises(ConfigError) as err:
        p.variant("no_such_variant")
    assert err.value.key == "variants" and "unknown variant 'no_such_variant'" in err.value.message


def test_model_settings_sit_under_the_variant(tmp_path):
    # what `dvc exp run -S variants.mnist_conv_ae_z2.latent_dim=8` writes into params.yaml
    params = copy.deepcopy(BASE)
    params["variants"]["mnist_conv_ae_z2"]["latent_dim"] = 8
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    p = load_params(path)
    assert p.variant("mnist_conv_ae_z2").model_cfg.latent_dim == 8
    assert p.variant("mnist_conv_vae_z2").model_cfg.latent_dim == 2


def test_latent_dim_is_the_latent_size_of_every_model_family(tmp_path):
    """`dvc exp run -S variants.<v>.latent_dim=7` for one variant of each model: the params
    load with the override and the built model's code has 7 dimensions."""
    from aelab.models import build_model

    shapes = {"moons": (2,), "digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28),
              "emoji": (3, 32, 32)}  # what preprocess@ writes (aelab.data)

    params = copy.deepcopy(BASE)
    one_per_model = {}
    for name, v in params["variants"].items():
        one_per_model.setdefault(v["model"], name)
    for name in one_per_model.values():
        params["variants"][name]["latent_dim"] = 7
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    p = load_params(path)
    assert len(one_per_model) >= 9, one_per_model
    for model, name in one_per_model.items():
        v = p.variant(name)
        built = build_model(v.model, v.model_cfg, shapes[v.dataset])
        assert built.latent_dim == 7, (model, name)


# --- every setting is a param (issue 11, item 5) ----------------------------------------------
# A setting left out of params.yaml would take its code default where `dvc params diff`
# cannot see it; the loader refuses that, naming the dotted key and the default.

def test_the_tiny_run_params_load_strictly(tmp_path):
    """tests/tiny_overrides.yaml replaces whole sections, so each must be complete."""
    from test_pipeline import tiny_params

    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    p = load_params(path)
    assert p.classify.n_estimators == 20 and p.studies.tune == {}
    broken = tiny_params()
    del broken["classify"]["max_optimized"]
    path.write_text(yaml.safe_dump(broken, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == "classify.max_optimized"


def test_project_params_yaml_names_every_setting():
    from aelab.core.params import require_complete

    require_complete(BASE)  # the strict rule of load_params, on the project's own file
    load_params(ROOT / "params.yaml")  # strict by default


# one key per section, the model settings of a variant, a whole
# data block of an enabled dataset
REQUIRED = [
    "seed",
    "runtime.device",
    "data.moons.test_noises",
    "data.digits",
    "train.shift_augment",
    "evaluate.knn_k",
    "evaluate.active_variance",
    "ood",
    "classify.gmm_components",
    "health.min_n",
    "studies.threads",
    "studies.moons_sweep.base.lr",
    "studies.moons.curve_points",
    "studies.moons_mmd.z2.metric_bandwidths",
    "studies.tune.fmnist_mlp_vae.grid_lrs",
    "report.title",
    "variants.mnist_conv_vae_z2.beta",
    "variants.moons_mmd_z2.res_blocks",
]


@pytest.mark.parametrize("key", REQUIRED)
def test_a_setting_missing_from_the_file_is_an_error_naming_it(tmp_path, key):
    params = copy.deepcopy(BASE)
    _set(params, key, _DELETE)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        load_params(path)
    assert err.value.key == key
    assert "missing; every setting that changes a result must be in params.yaml (default: " in str(err.value)
    load_params(path, strict=False)  # otherwise valid: code defaults fill the gap


def test_missing_setting_message_shows_the_default(tmp_path, monkeypatch, capsys):
    params = copy.deepcopy(BASE)
    del params["evaluate"]["knn_k"]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.setattr(sys, "argv", ["evaluate.py", "moons_ae_z1", "--params", str(path)])
    with pytest.raises(SystemExit) as exc:
        stage_main("evaluate", lambda p, n: None, target="variant")
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: evaluate@moons_ae_z1: params.yaml: evaluate.knn_k: missing; every setting that changes a result "
        "must be in params.yaml (default: 5)")


def test_complete_fills_a_partial_params_mapping():
    from aelab.core.params import complete, require_complete

    partial = {"datasets": ["moons"], "variants": {"v": {"dataset": "moons", "model": "mlp_vae"}}}
    with pytest.raises(ConfigError, match="seed: missing"):
        require_complete(partial)
    full = complete(partial)
    require_complete(full)
    assert partial == {"datasets": ["moons"], "variants": {"v": {"dataset": "moons", "model": "mlp_vae"}}}
    assert full["variants"]["v"]["beta"] == 1.0 and full["data"]["moons"]["noise"] == 0.1
    assert full["ood"]["mnist"] == "fashion_mnist"
    assert "train" not in full["variants"]["v"]  # a variant's train block holds overrides only


def test_params_yaml_has_no_flow_style_mapping():
    # `dvc exp run -S` round-trips params.yaml through ruamel: a flow mapping `{a: 1}` is
    # re-emitted and the diff grows far beyond the changed line. One-line lists are fine.
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    doc = YAML().load((ROOT / "params.yaml").read_text())
    flow = []

    def walk(node, key, in_flow):
        if isinstance(node, CommentedMap):
            if node and (in_flow or node.fa.flow_style()):  # `{}` (an empty mapping) has no block form
                flow.append(f"{key} (line {node.lc.line + 1})")
            for k, v in node.items():
                walk(v, f"{key}.{k}" if key else str(k), in_flow)
        elif isinstance(node, CommentedSeq):
            for i, v in enumerate(node):
                walk(v, f"{key}[{i}]", in_flow or node.fa.flow_style())

    walk(doc, "", False)
    assert flow == []
