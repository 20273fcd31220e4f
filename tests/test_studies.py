"""The study stages (aelab.studies) on tiny settings, their params validation and dvc.yaml."""

from __future__ import annotations

import dataclasses

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aelab.core import paths
from aelab.core.config import parse
from aelab.core.errors import ConfigError
from aelab.core.io import read_json, rounded
from aelab.core.params import complete, load_params
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
    """The sections the tiny end-to-end run substitutes (tests/tiny_overrides.yaml)."""
    return yaml.safe_load((ROOT / "tests/tiny_overrides.yaml").read_text())


def test_tiny_overrides_validate_and_switch_the_fmnist_studies_off():
    from aelab.core.params import ClassifyParams

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
              **{f"tune@{k}": f"tune_{k}" for k in p.tune},
              **{f"study_rbm@{k}": f"rbm_{k}" for k in p.rbm},
              **{f"study_gan_backbones@{k}": f"gan_backbones_{k}" for k in p.gan_backbones},
              **{f"study_photo_samples@{k}": f"photo_samples_{k}" for k in p.photo_samples}}
    for stage, study in expect.items():
        outs = {paths.study_metrics(study), paths.study_plots(study)}
        assert outs <= stages[stage][0], stage
    sweep_deps = {d for d in stages["study_moons"][1] if d.startswith("metrics/studies/moons_sweep_")}
    assert sweep_deps == {str(paths.study_metrics(f"moons_sweep_{a}")) for a in p.moons.adopt}
    digits_deps = stages["study_digits"][1]
    assert p.digits.variants
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


def test_versus_base_says_lower_only_beyond_seed_noise():
    from scipy.stats import ttest_ind

    from aelab.studies.compare import versus

    clear = versus([1.0, 1.1, 0.9, 1.05, 0.95], [2.0, 2.1, 1.9, 2.05, 1.95])
    assert clear["verdict"] == "lower" and clear["ratio"] == pytest.approx(0.5)
    assert clear["mean_difference"] == pytest.approx(-1.0)
    assert clear["welch_p"] == pytest.approx(ttest_ind([1.0, 1.1, 0.9, 1.05, 0.95], [2.0, 2.1, 1.9, 2.05, 1.95],
                                                       equal_var=False).pvalue)
    assert versus([2.0, 2.1, 1.9], [1.0, 1.1, 0.9])["verdict"] == "higher"
    noisy = versus([1.0, 3.0, 2.0], [1.5, 2.5, 2.2])  # means 2.0 vs 2.07, spread 1
    assert noisy["verdict"] == "within seed noise" and noisy["welch_p"] > 0.05
    assert versus([1.0], [2.0]) == {"mean_difference": -1.0, "ratio": 0.5, "welch_p": None, "alpha": 0.05,
                                    "verdict": "within seed noise"}  # one seed each: nothing to test


def test_sweep_axis_is_seeded_and_aggregates_repeats():
    from aelab.studies.sweep import error_figure, sweep_axis

    sweep = MoonsSweepParams(base=MoonsSetting(n_train=60, n_test=60, epochs=3, hidden_size=8, layers=1),
                             axes={"hidden_size": (4, 8), "lr_schedule": ("constant", "cosine")}, repeats=2, show=1)
    a, keep, seconds = sweep_axis(sweep, "hidden_size", 0, torch.device("cpu"))
    b, _, _ = sweep_axis(sweep, "hidden_size", 0, torch.device("cpu"))
    assert a == b  # same seeds → the same metrics, to the last digit: no wall-clock numbers in them
    assert set(seconds) == {"4", "8"} and all(s > 0 for s in seconds.values())  # timings apart
    assert set(a["points"]) == {"4", "8"} and a["points"]["4"]["test_mse"]["n"] == 2
    assert a["best"]["value"] in (4, 8) and len(keep) == 1
    if a["best"]["value"] == 4:  # the base is 8: the winner is tested against it over the same seeds
        assert a["best"]["vs_base"]["verdict"] in {"lower", "within seed noise"}
    else:
        assert "vs_base" not in a["best"]
    fig = error_figure(a)
    assert fig.axes[0].get_xlabel() == "hidden_size"
    c, _, _ = sweep_axis(sweep, "lr_schedule", 0, torch.device("cpu"))  # a categorical axis
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
    from aelab.core.timing import TIMING_KEY

    assert set(m.pop(TIMING_KEY)["sampler_s"]) == {"tpe", "random", "grid"}  # wall clock: timing/ only
    assert read_json(paths.study_metrics("tune_t")) == rounded(m) and "seconds" not in str(m)
    for kind in ("tpe", "random", "grid"):
        s = m["samplers"][kind]
        assert s["n_trials"] == 2 and s["n_pruned_or_diverged"] == 1 and s["n_complete"] == 1
    assert m["best"]["value"] > 0 and m["best"]["epochs"] in (1, 2)
    rows = read_json(paths.study_data("tune_t") / "trials.json")
    assert not any("seconds" in r for r in rows)  # tracked plot data: identical results, identical file
    assert len(rows) == 6 and sum(r["state"] == "PRUNED" and "loss term" in r["note"] for r in rows) == 3
    assert (paths.study_data("tune_t") / "trials.csv").exists()
    assert (paths.study_plots("tune_t") / "samplers.png").exists()
    assert "importances_skipped" in m["tpe_plots"]  # one complete trial
    assert Path("optuna/t/study.db").exists()


def test_tune_figure_draws_the_summary_curve_while_another_worker_is_mid_trial():
    """Two tune workers on one storage: a snapshot can hold the other worker's trial half written
    (state RUNNING, value already set). The best-so-far curve and its trials must still agree (CI
    once failed here with 'x and y must have same first dimension, (3,) and (2,)')."""
    import matplotlib.pyplot as plt
    from optuna.distributions import FloatDistribution
    from optuna.trial import FrozenTrial, TrialState

    from aelab.studies.tune import _row, _summary, samplers_figure

    def trial(number, state, value):
        return FrozenTrial(number=number, state=state, value=value, datetime_start=None,
                           datetime_complete=None, params={"lr": 0.001},
                           distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)}, user_attrs={},
                           system_attrs={}, intermediate_values={}, trial_id=number)

    trials = [trial(0, TrialState.COMPLETE, 3.0), trial(1, TrialState.RUNNING, 9.0),  # torn read
              trial(2, TrialState.COMPLETE, 2.0), trial(3, TrialState.PRUNED, None)]
    s = _summary(trials)
    assert s["best_so_far_trials"] == [0, 2] and s["best_so_far"] == [3.0, 2.0]
    assert (s["n_complete"], s["n_pruned_or_diverged"], s["best"]["trial"]) == (2, 1, 2)
    fig = samplers_figure({"tpe": s}, [_row("tpe", t) for t in trials], "t")
    ax = fig.axes[0]
    (curve,) = ax.get_lines()
    assert list(curve.get_xdata()) == [0, 2] and list(curve.get_ydata()) == [3.0, 2.0]
    dots, crosses = ax.collections  # completed trials, then the pruned one (not the running one)
    assert len(dots.get_offsets()) == 2 and len(crosses.get_offsets()) == 1
    plt.close(fig)


def test_moons_chain_sweep_then_study(project):
    from aelab.studies.moons_study import study_moons
    from aelab.studies.sweep import moons_sweep

    params = load_params()
    for axis in ("lr", "layers"):
        m = moons_sweep(params, axis)
        assert set(m.pop("_timing")["seconds_per_run"]) == set(m["points"])  # wall clock: timing/ only
        assert read_json(paths.study_metrics(f"moons_sweep_{axis}")) == rounded(m) and "seconds" not in str(m)
    m = study_moons(params)
    assert set(m["adopted_from_sweep"]) == {"lr", "layers"}
    for axis, value in m["adopted_from_sweep"].items():  # every adopted value, not only the last
        assert m["setting"][axis] == value
    assert m["spread"]["model_seeds"]["n"] == 2 and m["spread"]["data_seeds"]["n"] == 2
    assert m["spread"]["base_model_seeds"]["n"] == 2
    assert m["spread"]["vs_base"]["verdict"] in {"lower", "higher", "within seed noise"}
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
    # a small forest: this checks what the study reads from classify@, not the forest itself
    params = dataclasses.replace(params, classify=dataclasses.replace(params.classify, n_estimators=20))
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


# ---- study_rbm ----

def test_rbm_study_config_names_the_dotted_key():
    s = _studies()
    s["rbm"]["mnist"]["grid"]["lr"] = [0.01, -0.1]
    with pytest.raises(ConfigError) as err:
        parse(StudiesParams, s, "studies")
    assert err.value.key == "studies.rbm.mnist.grid.lr[1]" and "(0, 10]" in str(err.value)
    s = _studies()
    s["rbm"]["mnist"]["show_rows"] = 5
    with pytest.raises(ConfigError) as err:
        parse(StudiesParams, s, "studies")
    assert err.value.key == "studies.rbm.mnist.show_rows"
    s = _studies()
    s["rbm"]["mnist"]["dbm_variant"] = s["rbm"]["mnist"]["variant"]
    with pytest.raises(ConfigError) as err:
        parse(StudiesParams, s, "studies")
    assert err.value.key == "studies.rbm.mnist.dbm_variant"


def test_rbm_nearest_training_distance_is_zero_for_a_training_image():
    from aelab.studies.rbm import nearest_train_mse

    g = torch.Generator().manual_seed(0)
    train = torch.rand(50, 784, generator=g)
    x = torch.stack([train[7], torch.rand(784, generator=g)])  # a training image, a new one
    d = nearest_train_mse(x, train, batch=16)  # several batches
    brute = ((x[:, None] - train[None]) ** 2).mean(2).min(1).values  # (2,)
    assert d[0] == pytest.approx(0.0, abs=1e-6) and d[1] > 0.05
    assert torch.allclose(d, brute, atol=1e-5)


def test_rbm_hole_masks():
    from aelab.studies.rbm import hole_mask

    for region, where in (("top", (slice(0, 12), slice(None))), ("bottom", (slice(16, 28), slice(None))),
                          ("middle", (slice(8, 20), slice(None))), ("left", (slice(None), slice(0, 12))),
                          ("right", (slice(None), slice(16, 28)))):
        m = hole_mask(region, 12, (1, 28, 28))
        assert m.sum() == 12 * 28 and m[0][where].all(), region


def _fake_mnist(n_train=80, n_test=40):
    """28×28 'digits': class c is a bright horizontal bar at rows 2c+3…2c+5, plus speckle."""
    from aelab.data.contract import Processed, save_processed

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n_train + n_test).astype(np.int64)
    x = (rng.random((len(y), 1, 28, 28)) < 0.05).astype(np.uint8) * 255
    for i, c in enumerate(y):
        x[i, 0, 2 * c + 3:2 * c + 6, 4:24] = 255
    meta = {"name": "mnist", "kind": "image", "shape": [1, 28, 28], "value_range": [0, 255],
            "binarized": False, "class_names": [str(i) for i in range(10)], "source": "test", "skipped": {}}
    save_processed(paths.processed("mnist"), Processed(x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta))


def test_rbm_study_on_a_synthetic_mnist_writes_metrics_and_figures(project):
    from aelab.studies.rbm import study_rbm

    raw = yaml.safe_load(Path("params.yaml").read_text())
    raw["studies"]["rbm"] = {"t": {"variant": "mnist_rbm", "dataset": "mnist",
                                   "grid": {"lr": [0.01, 0.1], "hidden": [8], "epochs": 2, "n_train": 40,
                                            "n_test": 20},
                                   "gibbs_steps": [1, 3], "n_show": 2, "n_judge": 10,
                                   "inpaint_regions": ["top", "middle"], "inpaint_rows": [6, 12],
                                   "inpaint_steps": 3, "n_inpaint": 10, "show_rows": 12,
                                   "dbm_variant": "mnist_dbm", "n_samples": 20}}
    raw["variants"]["mnist_dbm"].update(latent_dim=12, top_dim=20, mf_steps=2, sample_steps=3)  # a tiny DBM
    Path("params.yaml").write_text(yaml.safe_dump(complete(raw), sort_keys=False))
    params = load_params()
    _fake_mnist()
    _checkpoint(params, "mnist_rbm", (1, 28, 28))
    _checkpoint(params, "mnist_dbm", (1, 28, 28))
    m = study_rbm(params, "t")
    assert m["grid"]["setting"]["n_train"] == 40 and m["grid"]["setting"]["epochs"] == 2
    assert set(m["grid"]["cells"]) == {"lr0.01_h8", "lr0.1_h8"} and m["grid"]["best"]["cell"] in m["grid"]["cells"]
    for c in m["grid"]["cells"].values():
        assert c["final_test_pseudo_ll"] < 0 and 1 <= c["best_test_pass"] <= 2
    assert set(m["gibbs"]["steps"]) == {"1", "3"} and m["gibbs"]["forest_accuracy_originals_n"] == 10
    for s in m["gibbs"]["steps"].values():
        assert s["mse_per_pixel"] > 0 and s["same_class_n"] == 10 and s["same_class_lo"] <= s["same_class"] <= s["same_class_hi"]
    assert set(m["inpaint"]) == {"top_6", "top_12", "middle_6", "middle_12"}
    for h in m["inpaint"].values():
        assert h["hole_pixels"] == h["rows"] * 28 and h["hole_mse_rbm"] > 0 and h["hole_mse_mean_fill"] > 0
        assert h["rf_correct_merged_n"] == 10 and h["rf_correct_mean_fill_n"] == 10
    from aelab.checkpoint import load_checkpoint

    assert m["components"]["n"] == load_checkpoint(paths.model_file("mnist_rbm"))[0].latent_dim  # one image per unit
    assert read_json(paths.study_metrics("rbm_t"))["grid"]["best"]["cell"] == m["grid"]["best"]["cell"]
    d = m["dbm"]  # the DBM measured as the RBM, keys mirrored
    assert d["variant"] == "mnist_dbm" and d["components"] == {"layer1": 12, "layer2": 20}
    assert set(d["gibbs"]["steps"]) == {"1", "3"} and d["gibbs"]["forest_accuracy_originals_n"] == 10
    assert all(s["mse_per_pixel"] > 0 and s["same_class_n"] == 10 for s in d["gibbs"]["steps"].values())
    assert set(d["inpaint"]) == set(m["inpaint"])
    for k, h in d["inpaint"].items():
        assert h["hole_mse_dbm"] > 0 and h["rf_correct_merged_n"] == 10
        assert h["hole_mse_mean_fill"] == m["inpaint"][k]["hole_mse_mean_fill"]  # same digits, same reference
    s = m["samples_from_noise"]
    assert s["n_train_searched"] == 80 and s["test_digits_nearest_train_mse"] > 0
    for who in ("rbm", "dbm"):
        assert s[who]["top_class_share_n"] == 20 and 1 <= s[who]["classes_seen"] <= 10
        assert s[who]["nearest_train_mse"] > 0 and sum(s[who]["class_fraction"].values()) == pytest.approx(1)
        assert s[who]["class_fraction"][s[who]["top_class"]] == pytest.approx(s[who]["top_class_share"])
    assert {p.name for p in paths.study_plots("rbm_t").glob("*.png")} == {
        "grid.png", "gibbs_steps.png", "inpainting.png", "components.png", "inpainting_dbm.png",
        "rbm_vs_dbm_samples.png", "dbm_layer1.png", "dbm_layer2.png"}


# ---- study_gan_backbones ----

def _fake_mnist_8x8(n_train=80, n_test=40):
    """8×8 'digits' (small, so two GAN trainings take a second): class c lights row c % 8,
    classes ≥ 8 also column c − 8; plus speckle."""
    from aelab.data.contract import Processed, save_processed

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, n_train + n_test).astype(np.int64)
    x = (rng.random((len(y), 1, 8, 8)) < 0.05).astype(np.uint8) * 255
    for i, c in enumerate(y):
        x[i, 0, c % 8, 1:7] = 255
        if c >= 8:
            x[i, 0, 1:7, c - 8] = 255
    meta = {"name": "mnist", "kind": "image", "shape": [1, 8, 8], "value_range": [0, 255],
            "binarized": False, "class_names": [str(i) for i in range(10)], "source": "test", "skipped": {}}
    save_processed(paths.processed("mnist"), Processed(x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta))


@pytest.mark.slow  # ~14 s on a loaded 2-core CPU: two train@ runs, the study twice, six figures
def test_gan_backbones_study_from_the_train_stage_writes_the_keys(project):
    from aelab.stage_fns import train
    from aelab.studies.gan_backbones import study_gan_backbones

    raw = yaml.safe_load(Path("params.yaml").read_text())
    for v in ("mnist_gan", "mnist_mlp_gan"):
        raw["variants"][v].update(encoder_epochs=1, encode_steps=2)
        raw["variants"][v]["train"].update(epochs=2)
    raw["studies"]["gan_backbones"] = {"t": {"conv": "mnist_gan", "mlp": "mnist_mlp_gan", "dataset": "mnist",
                                             "n_samples": 60, "n_show": 4, "fid_hidden": 8,
                                             "fid_max_train": 0, "fid_max_iter": 5, "fid_max_test": 0}}
    Path("params.yaml").write_text(yaml.safe_dump(complete(raw), sort_keys=False))
    params = load_params()
    _fake_mnist_8x8()
    for v in ("mnist_gan", "mnist_mlp_gan"):
        train(params, v)  # the real stage: checkpoint, metrics/train, dvclive curves
    m = study_gan_backbones(params, "t")
    assert "MLPClassifier" in m["fid_features"] and m["n_real_test"] == 40
    assert 0 <= m["fid_feature_net_test_accuracy"] <= 1 and m["frechet_floor_test_halves"] >= 0
    for role in ("conv", "mlp"):
        r = m[role]
        assert r["n_samples"] == 60 and 0.1 <= r["mean_max_prob"] <= 1 and r["frechet_distance"] > 0
        assert sum(r["class_fraction"].values()) == pytest.approx(1.0, abs=1e-4)
        assert r["top_class_share"] == pytest.approx(max(r["class_fraction"].values()), abs=1e-4)
        assert r["classes_seen"] == sum(f >= params.health.min_class_share for f in r["class_fraction"].values())
        assert r["top_class_share_lo"] <= r["top_class_share"] <= r["top_class_share_hi"]
        assert r["train"]["epochs"] == 2 and r["train"]["final_train_d_loss"] > 0
    assert m["frechet_ratio_mlp_to_conv"] == pytest.approx(
        m["mlp"]["frechet_distance"] / m["conv"]["frechet_distance"], rel=1e-4)
    assert read_json(paths.study_metrics("gan_backbones_t")) == m
    assert {p.name for p in paths.study_plots("gan_backbones_t").iterdir()} == {
        "samples.png", "losses.png", "classes.png"}
    first = paths.study_metrics("gan_backbones_t").read_bytes()
    study_gan_backbones(params, "t")
    assert paths.study_metrics("gan_backbones_t").read_bytes() == first  # seeded: same bytes
    raw["studies"]["gan_backbones"]["t"].update(conv="mnist_mlp_gan", mlp="mnist_gan")  # roles swapped
    Path("params.yaml").write_text(yaml.safe_dump(complete(raw), sort_keys=False))
    with pytest.raises(ConfigError, match="backbone 'conv'"):
        study_gan_backbones(load_params(), "t")
