"""End to end: `dvc repro` of the real dvc.yaml in a temporary git repo, tiny settings.

Checks the DAG runs download → preprocess → train → evaluate → report, writes the declared
outputs, leaves `dvc status` clean, and that re-running a training stage with the same
params and seed gives the same metrics (CPU determinism).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_DATASETS = ["moons", "digits"]


def tiny_params() -> dict:
    """The real params.yaml cut down to the offline toy datasets and a few epochs."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["datasets"] = TINY_DATASETS
    p["data"] = {k: v for k, v in p["data"].items() if k in TINY_DATASETS}
    p["data"]["moons"].update(n_train=200, n_test=200)
    p["variants"] = {k: v for k, v in p["variants"].items() if v["dataset"] in TINY_DATASETS}
    for v in p["variants"].values():
        v.setdefault("train", {})["epochs"] = 2
    p["runtime"]["threads"] = 1
    tiny = p.get("tiny_overrides", {})  # sections (studies, tuning) may declare tiny settings
    for key, value in tiny.items():
        p[key] = value
    return p


def _run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("pipeline")
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, work / name)
    shutil.copytree(ROOT / "stages", work / "stages")
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (work / ".dvc").mkdir()
    shutil.copy(ROOT / ".dvc/config", work / ".dvc/config")
    (work / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    (work / ".gitignore").write_text("/data/\n/models/\n/report/\n")
    env = dict(os.environ, AELAB_THREADS="1", PYTHONPATH=str(work / "src"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    _run(["git", "init", "-q"], work, env)
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "init"], work, env)  # dvclive refuses a repo with no commits
    _run(["dvc", "repro"], work, env)
    return work, env


def test_repro_writes_every_declared_output(repo):
    work, _ = repo
    params = yaml.safe_load((work / "params.yaml").read_text())
    for ds in params["datasets"]:
        assert (work / f"data/processed/{ds}.npz").exists()
    for v in params["variants"]:
        assert (work / f"models/{v}.pt").exists()
        m = json.loads((work / f"metrics/train/{v}.json").read_text())
        assert m["epochs"] == 2 and m["params"] > 0 and m["test"]["loss"] > 0
        assert (work / f"metrics/eval/{v}.json").exists()
    assert (work / "report/index.html").read_text().count("<table") >= 1


def test_status_clean_and_dag_order(repo):
    work, env = repo
    status = _run(["dvc", "status", "--json"], work, env)
    assert json.loads(status.stdout or "{}") == {}
    dot = _run(["dvc", "dag", "--dot"], work, env).stdout  # edges: "upstream" -> "downstream";
    for a, b in (("download@moons", "preprocess@moons"), ("preprocess@moons", "train@moons_ae_z1"),
                 ("train@moons_ae_z1", "evaluate@moons_ae_z1"), ("evaluate@moons_ae_z1", "report")):
        assert f'"{a}" -> "{b}"' in dot, dot


def test_same_params_and_seed_give_same_metrics(repo):
    work, env = repo
    path = work / "metrics/train/moons_ae_z1.json"
    before = json.loads(path.read_text())
    _run(["dvc", "repro", "-f", "-s", "train@moons_ae_z1"], work, env)
    after = json.loads(path.read_text())
    assert after["train"] == before["train"] and after["test"] == before["test"]
