"""scripts/run_stages.py runs dvc.lock's stage commands in dependency order, several at once:
a stage waits for every stage whose output is, holds or lies in one of its dependencies; a
failure blocks only what is downstream; skipped stages count as done; a deadline stops the rest."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rs():
    spec = importlib.util.spec_from_file_location("run_stages", ROOT / "scripts" / "run_stages.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve string annotations through it
    spec.loader.exec_module(mod)
    return mod


def write(path: Path) -> str:
    """A stage command that writes `path` (creating its folder)."""
    return f"python -c \"import pathlib; p = pathlib.Path('{path}'); p.parent.mkdir(parents=True, exist_ok=True); p.write_text('x')\""


def lock(tmp_path: Path, stages: dict) -> Path:
    f = tmp_path / "dvc.lock"
    f.write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        n: {"cmd": cmd, "deps": [{"path": d} for d in deps], "outs": [{"path": o} for o in outs]}
        for n, (cmd, deps, outs) in stages.items()}}))
    return f


def run(rs, tmp_path, stages, jobs=2, deadline=60.0, only=(), skip=()):
    picked = rs.select(rs.load_stages(lock(tmp_path, stages)), list(only), list(skip))
    runner = rs.Plain(picked, {"PATH": "/usr/bin:/bin"}, sys.executable)
    return rs.run(picked, jobs, runner, deadline, tmp_path / "no_timing", tmp_path / "logs", log=lambda m: None)


def test_dependencies_come_from_paths_in_either_direction(rs, tmp_path):
    o = tmp_path / "out"
    st = rs.load_stages(lock(tmp_path, {
        "a": ("true", [], [f"{o}/a.txt"]),
        "b": ("true", [f"{o}/a.txt"], [f"{o}/b"]),          # its dep is a's output
        "c": ("true", [f"{o}"], [f"{tmp_path}/c.txt"]),     # its dep holds a's and b's outputs
        "d": ("true", [f"{o}/b/inner.txt"], []),           # its dep lies inside b's output
        "e": ("true", [f"{o}/ab.txt"], []),                 # a name that only starts like a's
    }))
    assert {n: s.needs for n, s in st.items()} == {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": {"b"}, "e": set()}


def test_order_parallelism_failure_and_skip(rs, tmp_path):
    o = tmp_path / "out"
    res = run(rs, tmp_path, {
        "a": (write(o / "a.txt"), [], [f"{o}/a.txt"]),
        "b": (write(o / "b.txt"), [], [f"{o}/b.txt"]),
        "c": (write(o / "c.txt"), [f"{o}/a.txt", f"{o}/b.txt"], [f"{o}/c.txt"]),
        "bad": ("python -c \"raise SystemExit(3)\"", [], [f"{tmp_path}/bad.txt"]),
        "after_bad": (write(tmp_path / "never.txt"), [f"{tmp_path}/bad.txt"], [f"{tmp_path}/never.txt"]),
        "pre": ("python -c \"raise SystemExit(9)\"", [], [f"{tmp_path}/pre.txt"]),  # skipped: never runs
        "uses_pre": (write(tmp_path / "u.txt"), [f"{tmp_path}/pre.txt"], [f"{tmp_path}/u.txt"]),
    }, jobs=2, skip=["pre"])
    status = {n: r["status"] for n, r in res.items()}
    assert status == {"a": "ok", "b": "ok", "c": "ok", "bad": "failed", "after_bad": "blocked", "uses_pre": "ok"}
    assert res["bad"]["rc"] == 3 and "pre" not in res
    assert res["c"]["start_s"] >= max(res["a"]["start_s"] + res["a"]["wall_s"], res["b"]["start_s"] + res["b"]["wall_s"]) - 0.01
    assert sum(r.get("start_s") == 0.0 for r in res.values()) == 2  # -j 2: two started at once
    assert (o / "c.txt").exists() and not (tmp_path / "never.txt").exists()
    assert (tmp_path / "logs" / "bad.log").exists()


def test_deadline_stops_running_and_leaves_the_rest(rs, tmp_path):
    res = run(rs, tmp_path, {
        "slow": ("python -c \"import time; time.sleep(30)\"", [], [f"{tmp_path}/s.txt"]),
        "next": (write(tmp_path / "n.txt"), [f"{tmp_path}/s.txt"], [f"{tmp_path}/n.txt"]),
    }, jobs=1, deadline=1.0)
    assert res["slow"]["status"] == "stopped" and res["slow"]["wall_s"] < 10
    assert res["next"] == {"status": "not started"}


def test_only_takes_names_or_kinds(rs):
    assert rs.matches("train@a_z1", ["train@"]) and rs.matches("train@a_z1", ["train@a_z1"])
    assert not rs.matches("train@a_z16", ["train@a_z1"])  # a name is not a prefix
    assert rs.command("python stages/train.py x", "/py") == ["/py", "stages/train.py", "x"]


def test_every_stage_of_the_real_lock_is_reachable(rs):
    """The project's dvc.lock: the graph has no cycle (a chain cost for every stage) and the
    report waits for every train@ stage through its metrics/plots folders."""
    st = rs.select(rs.load_stages(ROOT / "dvc.lock"), [], ["download@", "preprocess@", "ood@"])
    cost = rs.chain_costs(st, ROOT / "no_such_timing_dir")
    assert set(cost) == set(st) and all(c >= rs.DEFAULT_COST_S for c in cost.values())
    upstream, todo = set(), ["report"]
    while todo:
        for d in st[todo.pop()].needs - upstream:
            upstream.add(d)
            todo.append(d)
    assert {n for n in st if n.startswith("train@")} <= upstream


def test_gpu_check_script_parses_and_names_real_files():
    """scripts/gpu_check.sh runs only on a GPU machine; here: bash parses it, and every
    script and profile it calls exists (a rename would otherwise surface only on the GPU)."""
    import re
    import subprocess

    script = ROOT / "scripts" / "gpu_check.sh"
    for sh in (script, ROOT / "scripts" / "gpu_wheels.sh"):
        assert subprocess.run(["bash", "-n", str(sh)]).returncode == 0
    named = set(re.findall(r"((?:benchmarks|scripts|profiles)/[\w.]+\.(?:py|yaml))", script.read_text()))
    assert {"benchmarks/train_speed.py", "benchmarks/train_precision.py", "scripts/run_stages.py",
            "profiles/study.yaml"} <= named
    assert all((ROOT / n).exists() for n in named)


def test_resume_skips_what_the_earlier_run_finished(rs, tmp_path):
    """A run stopped at its deadline, then --resume: the finished stage is not run again."""
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    count = tmp_path / "runs_of_first"
    stages = {
        "first": (f"python -c \"import pathlib; p = pathlib.Path('{count}'); p.write_text(p.read_text() + 'x' if p.exists() else 'x'); pathlib.Path('{first}').write_text('1')\"",
                  [], [str(first)]),
        "second": ("python -c \"import time; time.sleep(30)\"", [str(first)], [str(second)]),
    }
    lock(tmp_path, stages)
    out = tmp_path / "summary.json"
    argv = ["--lock", str(tmp_path / "dvc.lock"), "--out", str(out), "--logs", str(tmp_path / "logs"),
            "--timing", str(tmp_path / "none"), "-j", "1", "--skip", ""]
    assert rs.main(argv + ["--deadline", "3"]) == 1  # second is stopped
    assert rs.finished(out) == ["first"]
    stages["second"] = (write(second), [str(first)], [str(second)])
    lock(tmp_path, stages)
    assert rs.main(argv + ["--resume"]) == 0
    assert count.read_text() == "x" and second.exists()
    assert set(json.loads(out.read_text())["stages"]) == {"second"}


TOY = """
stages:
  a:
    cmd: {py} step.py a src.txt out/a.txt
    deps: [src.txt, step.py]
    params: [a.n]
    outs: [out/a.txt]
  b:
    cmd: {py} step.py b out/a.txt out/b.txt
    deps: [out/a.txt, step.py]
    outs: [out/b.txt]
    metrics: [{{b.json: {{cache: false}}}}]
  c:
    cmd: {py} step.py c src.txt out/c.txt
    deps: [src.txt, step.py]
    params: [c.n]
    outs: [out/c.txt]
"""

STEP = """
import json, pathlib, sys, yaml
name, src, dst = sys.argv[1:]
n = yaml.safe_load(open("params.yaml")).get(name, {}).get("n", 0)
with open("runs.log", "a") as f:  # not an output: counts the runs
    f.write(name + "\\n")
if n < 0:
    sys.exit(f"{name}: n = {n}")
pathlib.Path(dst).parent.mkdir(exist_ok=True)
pathlib.Path(dst).write_text(pathlib.Path(src).read_text() + f"{name}{n}\\n")
if name == "b":
    json.dump({"lines": len(pathlib.Path(dst).read_text().splitlines())}, open("b.json", "w"))
"""


def toy_repo(path: Path) -> Path:
    import subprocess

    path.mkdir()
    (path / "dvc.yaml").write_text(TOY.format(py=sys.executable))
    (path / "step.py").write_text(STEP)
    (path / "src.txt").write_text("x\n")
    (path / "params.yaml").write_text("a: {n: 1}\nc: {n: 5}\n")
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"],
                [sys.executable, "-m", "dvc", "config", "core.analytics", "false"]):
        subprocess.run(cmd, cwd=path, check=True, capture_output=True)
    return path


def test_dvc_mode_is_a_parallel_dvc_repro(rs, tmp_path, monkeypatch):
    """--dvc: the same dvc.lock as `dvc repro` (a twin project), `dvc status` clean after it,
    only changed stages rerun (and what is downstream of them), a failure recorded nowhere."""
    import subprocess

    runs = lambda p: (p / "runs.log").read_text().split() if (p / "runs.log").exists() else []  # noqa: E731

    def status(p: Path) -> dict:
        out = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=p, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    ours, twin = toy_repo(tmp_path / "ours"), toy_repo(tmp_path / "twin")
    monkeypatch.chdir(tmp_path)  # main() moves into --root; this puts the test's directory back

    def go(*extra):
        (ours / "runs.log").unlink(missing_ok=True)
        return rs.main(["--dvc", "--root", str(ours), "-j", "2", "--threads", "1", "--timing", str(tmp_path / "t"),
                        "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "summary.json"), *extra])

    assert go() == 0 and sorted(runs(ours)) == ["a", "b", "c"]
    subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=twin, check=True, capture_output=True)
    assert yaml.safe_load((ours / "dvc.lock").read_text()) == yaml.safe_load((twin / "dvc.lock").read_text())
    assert status(ours) == {} and (ours / "out/b.txt").read_text() == "x\na1\nb0\n"
    assert (ours / ".dvc/cache").exists() and json.loads((tmp_path / "summary.json").read_text())["counts"]["ok"] == 3

    assert go() == 0 and runs(ours) == []  # nothing changed: nothing runs
    (ours / "params.yaml").write_text("a: {n: 1}\nc: {n: 6}\n")
    assert go() == 0 and runs(ours) == ["c"] and status(ours) == {}
    (ours / "src.txt").write_text("y\n")
    assert go() == 0 and sorted(runs(ours)) == ["a", "b", "c"] and status(ours) == {}
    assert go("-f") == 0 and sorted(runs(ours)) == ["a", "b", "c"]

    before = (ours / "dvc.lock").read_text()
    (ours / "params.yaml").write_text("a: {n: -1}\nc: {n: 6}\n")  # a fails; b waits for it
    assert go() == 1 and runs(ours) == ["a"]
    summary = json.loads((tmp_path / "summary.json").read_text())["stages"]
    assert {n: r["status"] for n, r in summary.items()} == {"a": "failed", "b": "blocked", "c": "unchanged"}
    # as after a failed `dvc repro`: a's output was removed before its command ran, so b's dep
    # is missing too; the lock still holds the last good run
    assert (ours / "dvc.lock").read_text() == before and set(status(ours)) == {"a", "b"}


def test_fast_params_read_what_dvc_reads_for_every_stage_of_the_project(rs, monkeypatch):
    """run_stages --dvc swaps in a parse-once params reader and a direct dotted-key lookup;
    on the real dvc.yaml/params.yaml every stage's params read the same through both, and DVC's
    own functions are back afterwards."""
    import dpath
    import dvc.dependency.param as param
    from dvc.repo import Repo

    monkeypatch.chdir(ROOT)
    real = (param.load_path, dpath.get)
    with Repo(str(ROOT)) as repo:
        deps = [d for st in repo.index.stages for d in st.deps if isinstance(d, param.ParamsDependency)]
        before = [(d.read_params(), d.read_params(flatten=False), d.workspace_status()) for d in deps]
        with rs.fast_params():
            assert (param.load_path, dpath.get) != real
            after = [(d.read_params(), d.read_params(flatten=False), d.workspace_status()) for d in deps]
            missing = dpath.get({"a": {"b": 1}}, "a.c", separator=".", default=None)  # dpath's own answer
            assert missing is None and dpath.get({"a": [5, 6]}, "a.1", separator=".") == 6
    assert len(deps) > 100 and after == before
    assert (param.load_path, dpath.get) == real
