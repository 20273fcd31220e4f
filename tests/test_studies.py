"""The study stages (aelab.studies) on tiny settings, their params validation and dvc.yaml."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aelab import paths
from aelab.config import parse
from aelab.errors import ConfigError
from aelab.io import read_json
from aelab.params import complete, load_params
from aelab.studies.config import MoonsSetting, MoonsSweepParams, StudiesParams

ROOT = Path(__file__).resolve().parents[1]
REAL = yaml.safe_load((ROOT / "params.yaml").read_text())


# ---- params validation ----

def _studies(**changes) -> dict:
    s = copy.deepcopy(REAL["studies"])
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        d = s
        for p in parents:
            d = d[p]
        d[last] = value
    return s


BAD = [
    ({"moons_mmd__z2__bandwidth_sets": [[0.5, 1.0, 3.0]]}, "studies.moons_mmd.z2.bandwidth_sets[0][2]", "ratio"),
    ({"moons_mmd__z2__bandwidth_sets": [[0.5, 1.0]]}, "studies.moons_mmd.z2.bandwidth_sets[0]", "3 to 7"),
    ({"moons_mmd__z2__kernels": ["gauss"]}, "studies.moons_mmd.z2.kernels[0]", "'rbf'"),
    ({"moons_sweep__axes__momentum": [0.9]}, "studies.moons_sweep.axes.momentum", "unknown axis"),
    ({"moons_sweep__axes__lr": [0.001, -1]}, "studies.moons_sweep.axes.lr[1]", "> 0"),
    ({"moons_sweep__axes__layers": [1, 2.5]}, "studies.moons_sweep.axes.layers[1]", "integer"),
    ({"moons_sweep__axes__lr_schedule": ["cyclic"]}, "studies.moons_sweep.axes.lr_schedule[0]", "'cosine'"),
    ({"moons_sweep__base__lr_shedule": "cosine"}, "studies.moons_sweep.base.lr_shedule", "did you mean"),
    ({"moons__adopt": ["noise"]}, "studies.moons.adopt[0]", "not a sweep axis"),
    ({"tune__fmnist_mlp_vae__lr_max": 0.001}, "studies.tune.fmnist_mlp_vae.lr_max", ">= lr_min"),
    ({"tune__fmnist_mlp_vae__grid_lrs": [0.5]}, "studies.tune.fmnist_mlp_vae.grid_lrs[0]", "in [lr_min"),
    ({"tune__fmnist_mlp_vae__samplers": ["cmaes"]}, "studies.tune.fmnist_mlp_vae.samplers[0]", "'tpe'"),
    ({"tune__fmnist_mlp_vae__epochs_scale": 2}, "studies.tune.fmnist_mlp_vae.epochs_scale", "<= 1"),
    ({"tune__fmnist_mlp_vae__subset": 3}, "studies.tune.fmnist_mlp_vae.subset", "per fold"),
]


@pytest.mark.parametrize("changes,key,words", BAD, ids=[b[1] for b in BAD])
def test_bad_study_values_name_the_dotted_key(changes, key, words):
    with pytest.raises(ConfigError) as err:
        parse(StudiesParams, _studies(**changes), "studies")
    assert err.value.key == key and words in str(err.value), str(err.value)


def test_real_params_and_empty_mappings_validate():
    p = load_params(ROOT / "params.yaml").studies
    assert set(p.moons.adopt) <= set(p.moons_sweep.axes)
    off = parse(StudiesParams, _studies(moons_mmd={}, fmnist_ae_vs_vae={}, tune={}), "studies")
    assert off.tune == {} and off.moons_mmd == {}


def _tiny_overrides() -> dict:
    """params.yaml's tiny_overrides (still a commented block until Params accepts the key)."""
    if "tiny_overrides" in REAL:
        return REAL["tiny_overrides"]
    lines = (ROOT / "params.yaml").read_text().splitlines()
    start = lines.index("# tiny_overrides:")
    return yaml.safe_load("\n".join(line[2:] for line in lines[start:] if line.startswith("# ")))["tiny_overrides"]


def test_tiny_overrides_validate_and_switch_the_fmnist_studies_off():
    from aelab.params import ClassifyParams

    tiny = _tiny_overrides()
    s = parse(StudiesParams, tiny["studies"], "tiny_overrides.studies")
    parse(ClassifyParams, tiny["classify"], "tiny_overrides.classify")
    assert s.fmnist_ae_vs_vae == {} and s.tune == {}  # the tiny run has no Fashion-MNIST
    real = load_params(ROOT / "params.yaml").studies
    assert set(real.moons.adopt) <= set(s.moons_sweep.axes)  # study_moons' deps exist in the tiny run


# ---- dvc.yaml agrees with params and paths ----

@pytest.fixture(scope="module")
def stages():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {s.addressing: ({Path(str(o.def_path)) for o in s.outs}, {str(d.def_path) for d in s.deps})
                for s in repo.index.stages}


def test_study_stages_declare_paths_py_paths_and_adopted_sweeps(stages):
    p = load_params(ROOT / "params.yaml").studies
    expect = {"study_digits": "digits", "study_moons": "moons",
              **{f"moons_sweep@{a}": f"moons_sweep_{a}" for a in p.moons_sweep.axes},
              **{f"study_moons_mmd@{k}": f"moons_mmd_{k}" for k in p.moons_mmd},
              **{f"study_fmnist_ae_vs_vae@{k}": f"fmnist_ae_vs_vae_{k}" for k in p.fmnist_ae_vs_vae},
              **{f"tune@{k}": f"tune_{k}" for k in p.tune}}
    for stage, study in expect.items():
        outs = {paths.study_metrics(study), paths.study_plots(study)}
        assert outs <= stages[stage][0], stage
    sweep_deps = {d for d in stages["study_moons"][1] if d.startswith("metrics/studies/moons_sweep_")}
    assert sweep_deps == {str(paths.study_metrics(f"moons_sweep_{a}")) for a in p.moons.adopt}
    digits_deps = stages["study_digits"][1]
    for v in p.digits.variants:
        assert {str(paths.rf_metrics(v)), str(paths.eval_metrics(v)), str(paths.model_file(v))} <= digits_deps


# ---- small helpers ----

def test_stats_and_curve_distances():
    from aelab.studies.common import stats
    from aelab.studies.moons import chamfer, nn_distance, true_curve

    s = stats([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": pytest.approx(np.std([1, 2, 3])), "min": 1.0, "max": 3.0, "n": 3}
    c = true_curve(500)
    assert chamfer(c, c) == 0.0
    assert nn_distance(c + np.array([0.0, 0.05], np.float32), c) == pytest.approx(0.05, abs=0.02)


def test_sweep_axis_is_seeded_and_aggregates_repeats():
    from aelab.studies.sweep import error_figure, sweep_axis

    sweep = MoonsSweepParams(base=MoonsSetting(n_train=60, n_test=60, epochs=3, hidden_size=8, layers=1),
                             axes={"hidden_size": (4, 8), "lr_schedule": ("constant", "cosine")}, repeats=2, show=1)
    a, keep = sweep_axis(sweep, "hidden_size", 0, torch.device("cpu"))
    b, _ = sweep_axis(sweep, "hidden_size", 0, torch.device("cpu"))
    timeless = [{k: {kk: vv for kk, vv in p.items() if kk != "seconds_per_run"} for k, p in m["points"].items()}
                for m in (a, b)]
    assert timeless[0] == timeless[1]  # same seeds → same numbers (only the timings differ)
    assert set(a["points"]) == {"4", "8"} and a["points"]["4"]["test_mse"]["n"] == 2
    assert a["best"]["value"] in (4, 8) and len(keep) == 1
    fig = error_figure(a)
    assert fig.axes[0].get_xlabel() == "hidden_size"
    c, _ = sweep_axis(sweep, "lr_schedule", 0, torch.device("cpu"))  # a categorical axis
    assert c["values"] == ["constant", "cosine"]


# ---- stages end to end in a scratch project ----

@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch working directory with the real params.yaml (tiny studies) and fake data."""
    monkeypatch.chdir(tmp_path)
    p = copy.deepcopy(REAL)
    p["runtime"]["threads"] = 1
    s = p["studies"]
    s["moons_sweep"].update(repeats=1, show=2, axes={"lr": [0.001, 0.01], "layers": [1, 2]})
    s["moons_sweep"]["base"].update(n_train=60, n_test=60, epochs=2, hidden_size=8)
    s["moons"].update(adopt=["lr", "layers"], seeds=2, data_seeds=2, n_generate=50, curve_points=100)
    s["moons_mmd"] = {"t": {"variant": "moons_mmd_z2", "reference": "moons_ae_z1", "kernels": ["rbf", "imq"],
                            "bandwidth_sets": [[0.5, 1.0, 2.0]], "lams": [1.0], "grid_n_train": 40,
                            "grid_epochs": 1, "n_generate": 50}}
    s["fmnist_ae_vs_vae"] = {"t": {"ae": "fmnist_mlp_ae_z2", "vae": "fmnist_mlp_vae_z2",
                                   "dataset": "fashion_mnist", "max_test": 40, "passes": 3, "n_samples": 6}}
    s["tune"] = {"t": {"variant": "fmnist_mlp_vae_z2", "dataset": "fashion_mnist", "n_trials": 2,
                       "samplers": ["tpe", "random", "grid"], "epochs": [1, 2], "batch_sizes": [16],
                       "subset": 0, "folds": 2}}
    p["classify"].update(n_estimators=10, n_samples=50, gmm_components=[1, 2])
    Path("params.yaml").write_text(yaml.safe_dump(complete(p), sort_keys=False))  # defaults of the study entries
    return tmp_path


def _fake_fmnist():
    from aelab.data.contract import Processed, save_processed

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 100).astype(np.int64)
    x = ((rng.random((100, 1, 6, 6)) < (y[:, None, None, None] + 1) / 12) * 255).astype(np.uint8)
    meta = {"name": "fashion_mnist", "kind": "image", "shape": [1, 6, 6], "value_range": [0, 255],
            "binarized": True, "class_names": [f"c{i}" for i in range(10)], "source": "test", "skipped": {}}
    save_processed(paths.processed("fashion_mnist"), Processed(x[:60], y[:60], x[60:], y[60:], meta))


def _checkpoint(params, variant, shape, epochs=0, x=None):
    from aelab.checkpoint import save_checkpoint
    from aelab.models import build_model
    from aelab.train import fit

    v = params.variant(variant)
    torch.manual_seed(0)
    model = build_model(v.model, v.model_cfg, shape)
    if epochs:
        from dataclasses import replace

        fit(model, x, x, replace(v.train, epochs=epochs), torch.device("cpu"))
    save_checkpoint(paths.model_file(variant), model, model_name=v.model, variant=variant, dataset=v.dataset)


def test_tune_records_trials_and_survives_a_nan_trial(project, monkeypatch):
    import optuna

    from aelab.studies.tune import tune

    _fake_fmnist()
    real = optuna.trial.Trial.suggest_float

    def absurd_first_lr(self, name, *args, **kw):  # trial 0 of every sampler: lr 1e30 → NaN
        value = real(self, name, *args, **kw)
        if name != "lr":
            return value
        # the others at most 0.01: on this random fake data, lr 0.05 spikes the VAE's loss
        # 30,000× on its second batch, which train.diverge_factor rightly stops
        return 1e30 if self.number == 0 else min(value, 0.01)

    monkeypatch.setattr(optuna.trial.Trial, "suggest_float", absurd_first_lr)
    m = tune(load_params(), "t")
    for kind in ("tpe", "random", "grid"):
        s = m["samplers"][kind]
        assert s["n_trials"] == 2 and s["n_pruned_or_diverged"] == 1 and s["n_complete"] == 1
    assert m["best"]["value"] > 0 and m["best"]["epochs"] in (1, 2)
    rows = read_json(paths.study_plots("tune_t") / "trials.json")
    assert len(rows) == 6 and sum(r["state"] == "PRUNED" and "loss term" in r["note"] for r in rows) == 3
    assert (paths.study_plots("tune_t") / "trials.csv").exists()
    assert (paths.study_plots("tune_t") / "samplers.png").exists()
    assert "importances_skipped" in m["tpe_plots"]  # one complete trial
    assert Path("optuna/t/study.db").exists()


def test_moons_chain_sweep_then_study(project):
    from aelab.studies.moons_study import study_moons
    from aelab.studies.sweep import moons_sweep

    params = load_params()
    for axis in ("lr", "layers"):
        moons_sweep(params, axis)
    m = study_moons(params)
    assert set(m["adopted_from_sweep"]) == {"lr", "layers"}
    for axis, value in m["adopted_from_sweep"].items():  # every adopted value, not only the last
        assert m["setting"][axis] == value
    assert m["spread"]["model_seeds"]["n"] == 2 and m["spread"]["data_seeds"]["n"] == 2
    assert m["noise"]["chamfer_between_decoded_curves"] >= 0
    assert {p.name for p in paths.study_plots("moons").glob("*.png")} == {"spread.png", "codes_gmm.png", "noise.png"}
    assert read_json(paths.study_metrics("moons"))["setting"]["lr"] == m["setting"]["lr"]


def test_mmd_and_ae_vs_vae_studies_from_checkpoints(project):
    from aelab.data.contract import load_processed, to_model_input
    from aelab.stage_fns import download, preprocess
    from aelab.studies.ae_vs_vae import study_fmnist_ae_vs_vae
    from aelab.studies.mmd import study_moons_mmd

    params = load_params()
    if "mmd_ae" in __import__("aelab.models", fromlist=["MODELS"]).MODELS:
        download(params, "moons")
        preprocess(params, "moons")
        x = to_model_input(load_processed(paths.processed("moons")).x_train[:100],
                           load_processed(paths.processed("moons")).meta)
        _checkpoint(params, "moons_ae_z1", (2,), epochs=1, x=x)
        _checkpoint(params, "moons_mmd_z2", (2,), epochs=1, x=x)
        m = study_moons_mmd(params, "t")
        assert m["mse_ratio_mmd_to_reference"] > 0 and len(m["grid"]) == 2
        assert m["mmd_ae"]["code_mmd2_vs_normal"] > m["mmd_ae"]["code_mmd2_floor_normal_vs_normal"] - 0.05
    _fake_fmnist()
    _checkpoint(params, "fmnist_mlp_ae_z2", (1, 6, 6))
    _checkpoint(params, "fmnist_mlp_vae_z2", (1, 6, 6))
    m = study_fmnist_ae_vs_vae(params, "t")
    assert m["ae"]["consistency"]["first_pass_change_mse"] >= 0
    assert "stochastic_recon_std_per_pixel" in m["vae"] and "test_neg_elbo_per_image" in m["vae"]
    for role in ("ae", "vae"):  # a rate carries its n and Wilson interval
        r = m[role]
        assert r["latent_knn5_accuracy_n"] > 0
        assert r["latent_knn5_accuracy_lo"] <= r["latent_knn5_accuracy"] <= r["latent_knn5_accuracy_hi"]
    assert (paths.study_plots("fmnist_ae_vs_vae_t") / "comparison.png").exists()


def test_digits_study_reads_rf_metrics_and_draws_the_classified_samples(project):
    from aelab.data.contract import load_processed, to_model_input
    from aelab.probe import classify_variant
    from aelab.stage_fns import download, preprocess
    from aelab.studies.digits import study_digits

    params = load_params()
    download(params, "digits")
    preprocess(params, "digits")
    data = load_processed(paths.processed("digits"))
    x = to_model_input(data.x_train[:200], data.meta)
    for v in params.studies.digits.variants:
        _checkpoint(params, v, (1, 8, 8), epochs=1, x=x)
        classify_variant(params, v)
    m = study_digits(params)
    assert [m["bottleneck"][v] for v in params.studies.digits.variants] == [2, 4, 8]
    for v in params.studies.digits.variants:
        rf = read_json(paths.rf_metrics(v))
        assert m["variants"][v]["rf"]["accuracy_reconstructions"] == rf["accuracy"]["test_reconstructions"]
        for suffix in ("_n", "_lo", "_hi"):
            assert m["variants"][v]["rf"]["accuracy_reconstructions" + suffix] == \
                rf["accuracy"]["test_reconstructions" + suffix]
        assert m["variants"][v]["samples_sampler"]["gmm_components"] == rf["samples"]["gmm_components"]
    assert {p.name for p in paths.study_plots("digits").glob("*.png")} == {
        "bottleneck.png", "reconstructions.png", "codes.png", "synthetic.png"}
