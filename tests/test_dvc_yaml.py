"""dvc.yaml and src/aelab/core/paths.py name the same files (paths are not typed twice unchecked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aelab.core import paths
from aelab.core.params import load_params

ROOT = Path(__file__).resolve().parents[1]

# stage name → function of the item giving the outputs that stage must declare
EXPECTED = {
    "download": lambda d: {paths.raw_dir(d)},
    "preprocess": lambda d: {paths.processed(d), paths.preprocess_preview(d)},
    "train": lambda v: {paths.model_file(v), paths.train_metrics(v), paths.train_plots(v)},
    "ood": lambda d: {paths.ood_set(d)},
    "evaluate": lambda v: {paths.eval_metrics(v), paths.eval_plots(v)},
    "classify": lambda v: {paths.rf_metrics(v), paths.rf_plots(v), paths.rf_confusion(v)},
}


@pytest.fixture(scope="module")
def stages():
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        return {s.addressing: {Path(str(o.def_path)) for o in s.outs} for s in repo.index.stages}


def test_every_fanned_out_stage_declares_the_paths_of_paths_py(stages):
    params = load_params(ROOT / "params.yaml")
    items = {"download": params.datasets, "preprocess": params.datasets, "ood": params.datasets,
             "train": list(params.variants), "evaluate": list(params.variants)}
    assert all(items.values()), items
    for stage, names in items.items():
        for name in names:
            assert stages[f"{stage}@{name}"] == EXPECTED[stage](name), f"{stage}@{name}"


def test_evaluate_depends_on_the_data_it_reads_and_every_setting_but_other_datasets_ood():
    """evaluate@<v> reads its own dataset and ood@'s file for it, not all of data/processed,
    so a new or changed dataset elsewhere leaves it up to date; it declares the whole
    `evaluate` section, while the top-level `ood` mapping is ood@'s (its output changes only
    when this dataset's OOD images do)."""
    import yaml

    doc = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    ev = doc["evaluate"]["do"]
    data = [d for d in ev["deps"] if d.startswith("data/")]
    assert data == ["data/processed/${item.dataset}.npz", "data/ood/${item.dataset}.npz"]
    # the whole `evaluate` section, as one key (DVC walks all of params.yaml per key)
    assert [p for p in ev["params"] if str(p).startswith("evaluate")] == ["evaluate"]
    assert doc["ood"]["do"]["params"] == ["datasets", "ood"]


def test_figures_live_in_the_dvc_cache_and_plot_data_in_git():
    """PNG figures are cached outs (kept out of git, shared by `dvc push`/`pull`); the
    committed plot outs are the data `dvc plots diff` compares (TSV/CSV/JSON); git tracks no
    PNG under plots/."""
    import subprocess

    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        outs = [o for s in repo.index.stages for o in s.outs if str(o.def_path).startswith("plots/")]
    committed = {str(o.def_path).split("/")[1] for o in outs if not o.use_cache}
    cached = {str(o.def_path).split("/")[1] for o in outs if o.use_cache}
    assert committed == {"train", "rf_confusion", "studies_data"}, committed
    assert cached >= {"preprocess", "eval", "rf", "studies"}, cached
    tracked = subprocess.run(["git", "ls-files", "plots"], cwd=ROOT, capture_output=True, text=True).stdout
    assert [f for f in tracked.split() if f.endswith(".png")] == []


def test_classify_stages_match_paths(stages):
    classify = {addr: outs for addr, outs in stages.items() if addr.startswith("classify@")}
    assert classify, sorted(stages)
    for addr, outs in classify.items():
        assert outs == EXPECTED["classify"](addr.split("@", 1)[1])


def test_report_reads_the_metrics_it_declares_and_not_the_benchmarks(tmp_path):
    """report@ declares the metrics folders load_run reads; a benchmark writing
    metrics/bench/ (committed, as #10 asks) must not make the report stale."""
    import yaml

    from aelab.importgraph import covered
    from aelab.report.gather import load_run

    deps = {Path(d) for d in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]["deps"]}
    assert not covered(Path("metrics/bench/dvc_overhead.json"), deps)
    for sub in ("train", "eval", "rf", "studies"):  # what load_run reads, file by file
        (tmp_path / "metrics" / sub).mkdir(parents=True)
        (tmp_path / "metrics" / sub / "x.json").write_text("{}")
        assert covered(Path("metrics") / sub / "x.json", deps)
    run = load_run(None, tmp_path)
    assert (run.train, run.eval, run.rf, run.studies) == ({"x": {}},) * 4


def test_report_output(stages):
    assert stages["report"] == {paths.report_dir()}


def test_only_the_headline_files_are_declared_metrics():
    """`dvc metrics show` lists metrics/headline/ only; the detailed files are plain outs."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        declared = {(s.addressing, str(o.def_path)) for s in repo.index.stages for o in s.outs if o.metric}
    assert declared == {("headline", str(paths.headline_dir()))}


def test_dvc_lock_holds_only_the_stages_dvc_yaml_defines(stages):
    """DVC keeps a removed variant's train/evaluate/classify entries in dvc.lock, and rewrites
    the whole lock after every stage it runs (its cost grows with the lock): a disabled
    variant's entries are dropped when it goes (emoji_gan's three were 166 lines)."""
    import yaml

    lock = yaml.load((ROOT / "dvc.lock").read_text(), Loader=yaml.CSafeLoader)["stages"]
    assert sorted(set(lock) - set(stages)) == []


def test_every_stage_depends_on_the_code_it_can_import():
    """A change to any file a stage imports must make DVC rerun it (else stale results pass
    as up to date): each stage's deps cover the import closure of its script."""
    import yaml

    from aelab.importgraph import covered, stage_closure

    doc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        deps = {Path(d) for d in body["deps"] if str(d).startswith("src/")}
        missing = sorted(str(p) for p in stage_closure(body["cmd"]) if not covered(p, deps))
        assert not missing, f"{name}: add {missing} (python -m aelab.importgraph)"


def test_the_deps_check_names_a_removed_dep():
    """The check above is not vacuous: drop one file a study imports from its deps and the
    missing path is what it reports."""
    from aelab.importgraph import covered, stage_closure

    need = stage_closure("python stages/study.py rbm ${key}")
    assert Path("src/aelab/studies/rbm.py") in need and Path("src/aelab/studies/tune.py") not in need
    deps = need - {Path("src/aelab/studies/rbm_figures.py")}
    assert [p for p in need if not covered(p, deps)] == [Path("src/aelab/studies/rbm_figures.py")]
    assert covered(Path("src/aelab/models/gan.py"), {Path("src/aelab/models")})


def test_import_closure_follows_lazy_imports_and_registries():
    from aelab.importgraph import closure

    train = closure(ROOT / "stages/train.py")
    assert Path("src/aelab/train.py") in train  # imported inside stage_fns.train
    assert Path("src/aelab/models/gan.py") in train  # MODELS resolves any model by name
    download = closure(ROOT / "stages/download.py")
    assert Path("src/aelab/train.py") not in download  # another stage's lazy import
    assert Path("src/aelab/tasks/recon.py") in closure(ROOT / "stages/evaluate.py")  # TASKS by string


# ---- study stages (aelab.dvcstages, from the study registry) ----

def test_study_stages_block_is_what_the_generator_prints():
    import yaml

    from aelab import dvcstages

    _, block, _ = dvcstages.split((ROOT / "dvc.yaml").read_text())
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert block == dvcstages.render(params), "dvc.yaml's study stages are stale: python -m aelab.dvcstages --write"


def test_every_registered_study_has_its_stage_and_outputs(stages):
    from aelab.studies.registry import STUDIES

    params = load_params(ROOT / "params.yaml")
    for name, study in STUDIES.items():
        section = getattr(params.studies, name)
        targets = (list(section) if study.keyed else list(getattr(section, study.fan_out.rsplit(".", 1)[1]))
                   if study.fan_out else [None])
        for t in targets:
            stem = f"{name}_{t}" if t else name
            outs = stages[f"{study.stage}@{t}" if t else study.stage]
            assert {paths.study_metrics(stem), paths.study_plots(stem)} <= outs, (name, t)


# ---- top-level plots (aelab.dvcplots) ----

def test_top_level_plots_block_is_what_the_generator_prints():
    import yaml

    from aelab import dvcplots

    variants = yaml.safe_load((ROOT / "params.yaml").read_text())["variants"]
    _, block = dvcplots.split((ROOT / "dvc.yaml").read_text())
    assert block == dvcplots.render(variants, ROOT), "dvc.yaml's plots are stale: python -m aelab.dvcplots --write"


def test_top_level_plots_overlay_train_and_test_per_phase_and_compare_by_dataset_and_unit(tmp_path):
    import json

    import yaml

    from aelab import dvcplots

    def curves(variant: str, phase: str = "", units: str = "nats/image") -> None:
        base = tmp_path / paths.train_plots(variant) / "plots/metrics" / phase
        for split in ("train", "test"):
            (base / split).mkdir(parents=True, exist_ok=True)
            (base / split / "loss.tsv").write_text("step\tloss\n0\t1.0\n")
        f = tmp_path / paths.train_metrics(variant)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps({"loss_units": units}))

    curves("a")
    curves("b")
    curves("s", "layer1")
    curves("s", "finetune")
    curves("m", units="MSE/pixel")
    variants = {"a": {"dataset": "d"}, "b": {"dataset": "d"}, "s": {"dataset": "d"},
                "m": {"dataset": "d"}, "untrained": {"dataset": "d"}}
    charts = {k: v for c in dvcplots.top_level_plots(variants, tmp_path) for k, v in c.items()}
    assert list(charts) == ["loss/a", "loss/b", "loss/s/finetune", "loss/s/layer1", "loss/m", "compare/d"]
    assert list(charts["loss/s/layer1"]["y"]) == [
        "plots/train/s/plots/metrics/layer1/train/loss.tsv", "plots/train/s/plots/metrics/layer1/test/loss.tsv"]
    # only a and b share a unit and have top-level curves; m is alone in MSE/pixel
    assert list(charts["compare/d"]["y"]) == [f"plots/train/{v}/plots/metrics/test/loss.tsv" for v in "ab"]
    assert charts["loss/m"]["y_label"] == "loss (MSE/pixel)"
    assert yaml.safe_load(dvcplots.render(variants, tmp_path))["plots"][0] == {"loss/a": charts["loss/a"]}
