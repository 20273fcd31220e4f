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
    "preprocess": lambda d: {paths.processed(d), paths.preprocess_preview(d)},
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
    assert all(items.values()), items
    for stage, names in items.items():
        for name in names:
            assert stages[f"{stage}@{name}"] == EXPECTED[stage](name), f"{stage}@{name}"


def test_classify_stages_match_paths(stages):
    classify = {addr: outs for addr, outs in stages.items() if addr.startswith("classify@")}
    assert classify, sorted(stages)
    for addr, outs in classify.items():
        assert outs == EXPECTED["classify"](addr.split("@", 1)[1])


def test_report_output(stages):
    assert stages["report"] == {paths.report_dir()}


def test_only_the_headline_files_are_declared_metrics():
    """`dvc metrics show` lists metrics/headline/ only; the detailed files are plain outs."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        declared = {(s.addressing, str(o.def_path)) for s in repo.index.stages for o in s.outs if o.metric}
    assert declared == {("headline", str(paths.headline_dir()))}


def test_every_stage_depends_on_the_code_it_can_import():
    """A change to any file a stage imports must make DVC rerun it (else stale results pass
    as up to date): each stage's deps cover the import closure of its script."""
    import yaml

    from importgraph import closure, covered, stage_script

    doc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        deps = {Path(d) for d in body["deps"] if str(d).startswith("src/")}
        missing = sorted(str(p) for p in closure(stage_script(body["cmd"])) if not covered(p, deps))
        assert not missing, f"{name}: add {missing} (python tests/importgraph.py)"


def test_import_closure_follows_lazy_imports_and_registries():
    from importgraph import closure

    train = closure(ROOT / "stages/train.py")
    assert Path("src/aelab/train.py") in train  # imported inside stage_fns.train
    assert Path("src/aelab/models/gan.py") in train  # MODELS resolves any model by name
    download = closure(ROOT / "stages/download.py")
    assert Path("src/aelab/train.py") not in download  # another stage's lazy import
    assert Path("src/aelab/tasks/recon.py") in closure(ROOT / "stages/evaluate.py")  # TASKS by string


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
