"""Scale-out on existing engines (README "Scale-out"): DVC's experiment queue running two
experiments at once, and Optuna workers sharing one study through a storage URL.

The queue test builds a tiny git+DVC repo like tests/test_pipeline.py (its `tiny_params()`),
commits a baseline with the data in DVC's cache, queues a two-value `-S` sweep of one cheap
variant, runs `dvc queue start -j 2` and collects both results with `dvc exp show --json`.
It also checks that the queue's workers inherit the environment of `dvc queue start`
(AELAB_THREADS=1 beats the `runtime.threads: 2` committed in params.yaml).

The Optuna tests run two worker processes on one SQLite storage: the tune stage as it is
(its `n_trials` is a per-process budget, so the study ends with workers × n_trials), and the
project's objective under optuna's MaxTrialsCallback (a study total of n_trials).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from test_pipeline import _run, tiny_params

ROOT = Path(__file__).resolve().parents[1]
VARIANT = "moons_ae_z1"
HIDDEN = (16, 32)


def _env(**extra) -> dict:
    return dict(os.environ, AELAB_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
                PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                GIT_COMMITTER_EMAIL="t@t", **extra)


def _tiny_repo(work: Path, env: dict) -> None:
    """A committed git+DVC repo of the real pipeline with tiny params and one torch thread
    left to the environment (params say 2, so a log line of 1 thread proves AELAB_THREADS)."""
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / name, work / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "stages", work / "stages", ignore=ignore)
    shutil.copytree(ROOT / "src", work / "src", ignore=ignore)
    (work / ".dvc").mkdir()
    shutil.copy(ROOT / ".dvc/config", work / ".dvc/config")
    p = tiny_params()
    p["runtime"]["threads"] = 2
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))
    _run(["git", "init", "-q"], work, env)
    _run(["git", "config", "user.name", "t"], work, env)  # DVC's stash commits read git config
    _run(["git", "config", "user.email", "t@t"], work, env)
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "init"], work, env)


def _experiments(work: Path, env: dict) -> list[dict]:
    """The HEAD baseline's experiments from `dvc exp show --json`, one dict per experiment."""
    out = json.loads(_run(["dvc", "exp", "show", "--json"], work, env).stdout)
    base = next(e for e in out if e["rev"] != "workspace")
    found = []
    for rng in base.get("experiments") or []:
        rev = rng["revs"][0]
        found.append({"name": rng.get("name") or rev.get("name"), "state": (rng.get("executor") or {}).get("state"),
                      "log": ((rng.get("executor") or {}).get("local") or {}).get("log"), "data": rev.get("data") or {},
                      "rev": rev.get("rev")})
    return found


def _wait(work: Path, env: dict, n: int, limit_s: float) -> list[dict]:
    """Poll until n experiments are done (no queued/running left), or fail with the logs."""
    deadline = time.monotonic() + limit_s
    while True:
        exps = _experiments(work, env)
        failed = [e for e in exps if e["state"] == "failed"]
        if failed:
            logs = "\n".join(Path(e["log"]).read_text()[-3000:] for e in failed if e["log"] and Path(e["log"]).exists())
            pytest.fail(f"{len(failed)} queued experiment(s) failed:\n{logs}")
        done = [e for e in exps if e["state"] in ("success", None) and e["data"].get("params") and e["rev"]]
        if len(done) >= n and not any(e["state"] in ("queued", "running") for e in exps):
            return done
        if time.monotonic() > deadline:
            pytest.fail(f"queue not done after {limit_s:.0f} s: {[(e['name'], e['state']) for e in exps]}")
        time.sleep(10)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_queued_sweep_runs_two_experiments_at_once(tmp_path):
    work, env = tmp_path / "repo", _env(PYTHONPATH="src")  # relative: each run imports its own copy
    work.mkdir()
    _tiny_repo(work, env)
    _run(["dvc", "repro", "preprocess@moons", "preprocess@digits"], work, env)  # baseline data → cache
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "baseline data"], work, env)

    sweep = f"variants.{VARIANT}.hidden_size={','.join(map(str, HIDDEN))}"  # Hydra choice sweep
    queued = _run(["dvc", "exp", "run", "--queue", "-S", sweep, f"train@{VARIANT}", f"evaluate@{VARIANT}"], work, env)
    assert queued.stdout.count("Queued experiment") == len(HIDDEN), queued.stdout
    try:
        _run(["dvc", "queue", "start", "-j", "2"], work, env)
        done = _wait(work, env, len(HIDDEN), limit_s=480)
    finally:
        subprocess.run(["dvc", "queue", "stop", "--kill"], cwd=work, env=env, capture_output=True, timeout=120)

    seen = {}
    for e in done:
        params = e["data"]["params"]["params.yaml"]["data"]
        # the detailed metrics are tracked outs, not declared metrics (only metrics/headline is):
        # read them from the experiment's commit
        show = lambda path: json.loads(_run(["git", "show", f"{e['rev']}:{path}"], work, env).stdout)  # noqa: E731
        train = show(f"metrics/train/{VARIANT}.json")
        assert train["epochs"] == 2 and train["test"]["loss"] > 0
        assert show(f"metrics/eval/{VARIANT}.json"), e["name"]
        seen[params["variants"][VARIANT]["hidden_size"]] = train["params"]
        log = Path(e["log"]).read_text() if e["log"] and Path(e["log"]).exists() else \
            _run(["dvc", "queue", "logs", e["name"]], work, env).stdout
        threads = set(re.findall(r"with (\d+) thread\(s\)", log))
        assert threads == {"1"}, f"{e['name']}: torch threads {threads or 'not logged'} (AELAB_THREADS not inherited?)"
    assert sorted(seen) == list(HIDDEN) and seen[16] < seen[32], seen  # the -S value reached the model

    # the narrow view of the same `dvc exp show`: the swept param, one column per experiment
    view = _run([sys.executable, "-m", "aelab.expview", "--width", "200"], work, env).stdout.splitlines()
    assert max(map(len, view)) <= 200, view
    row = next(line.split() for line in view if line.startswith(f"variants.{VARIANT}.hidden_size"))
    assert sorted(row[-len(HIDDEN):]) == sorted(map(str, HIDDEN)), view
    assert {e["name"] for e in done} <= set(view[0].split()), view


# ---- Optuna: several workers on one storage ----

def _tune_project(folder: Path, storage: str, n_trials: int) -> Path:
    """A scratch project (params.yaml + fake Fashion-MNIST) whose tune@t uses `storage`."""
    from test_studies import REAL, _fake_fmnist

    from aelab.core.params import complete

    folder.mkdir()
    p = copy.deepcopy(REAL)
    p["runtime"]["threads"] = 1
    # lr ≤ 0.003: on the random fake images larger rates make the VAE's loss spike (see test_studies)
    p["studies"]["tune"] = {"t": {"variant": "fmnist_mlp_vae_z2", "dataset": "fashion_mnist",
                                  "n_trials": n_trials, "samplers": ["tpe"], "epochs": [1, 2],
                                  "batch_sizes": [16], "lr_min": 0.001, "lr_max": 0.003,
                                  "grid_lrs": [0.001], "subset": 0, "folds": 2, "storage": storage}}
    (folder / "params.yaml").write_text(yaml.safe_dump(complete(p), sort_keys=False))
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        _fake_fmnist()
    finally:
        os.chdir(cwd)
    return folder


def _start_both(cmds: list[list[str]], cwds: list[Path], env: dict) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(c, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for c, d in zip(cmds, cwds)]
    outs = [p.communicate(timeout=500)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    return outs


def _finished(study) -> list:
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_tune_stage_processes_share_one_study(tmp_path):
    """Two `python stages/study.py tune t` (two clones, say two machines) on one SQLite URL: one
    study, trial numbers unique across workers; `n_trials` counts per process."""
    import optuna

    url, n = f"sqlite:///{tmp_path / 'study.db'}", 2
    optuna.create_study(study_name="tune-t-tpe", storage=url, direction="minimize")  # = optuna create-study
    dirs = [_tune_project(tmp_path / f"worker{i}", url, n) for i in (0, 1)]
    outs = _start_both([[sys.executable, str(ROOT / "stages/study.py"), "tune", "t"]] * 2, dirs,
                       _env(PYTHONPATH=str(ROOT / "src")))

    study = optuna.load_study(study_name="tune-t-tpe", storage=url)
    assert len(study.trials) == len(_finished(study)) == 2 * n  # a per-worker budget: workers × n_trials
    ran = [{int(k) for k in re.findall(r"tune: trial (\d+)", out)} for out in outs]
    assert all(len(r) == n for r in ran) and ran[0] | ran[1] == set(range(2 * n)), ran
    counts = [json.loads((d / "metrics/studies/tune_t.json").read_text())["samplers"]["tpe"]["n_trials"] for d in dirs]
    assert max(counts) == 2 * n, counts  # the worker that finished last reports the whole study


def test_a_sqlite_study_waits_for_another_workers_write_lock(tmp_path):
    """A worker holding SQLite's write lock longer than sqlite3's 5 s default (a loaded box) makes
    the other worker wait, not fail its trial with 'database is locked'."""
    import sqlite3
    import threading

    import optuna

    from aelab.studies.tune import open_storage

    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="s", storage=url)
    locked, held_s = threading.Event(), 6.5

    def hold_lock():
        con = sqlite3.connect(tmp_path / "study.db", isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(held_s)
        con.execute("COMMIT")
        con.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait()
    start = time.monotonic()
    study = optuna.load_study(study_name="s", storage=open_storage(url))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    holder.join()
    assert len(study.trials) == 1 and time.monotonic() - start > 5.0  # it did wait past the default


WORKER = """
import sys, time
from pathlib import Path
import optuna, torch
from optuna.study import MaxTrialsCallback
from aelab.core import paths
from aelab.data.contract import load_processed, to_model_input
from aelab.core.params import load_params
from aelab.studies.tune import make_sampler, objective, open_storage

url, worker, n, barrier = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
torch.set_num_threads(1)
optuna.logging.set_verbosity(optuna.logging.WARNING)
cfg = load_params().studies.tune["t"]
v = load_params().variant(cfg.variant)
data = load_processed(paths.processed(v.dataset))
run = objective(cfg, v.model, v.model_cfg, to_model_input(data.x_train, data.meta), cfg.seed, torch.device("cpu"))
# one seed per worker: workers with the same seed propose the same random trials
study = optuna.load_study(study_name="tune-t-tpe", storage=open_storage(url), sampler=make_sampler("tpe", cfg, cfg.seed + worker))

def trial_of_worker(trial):
    trial.set_user_attr("worker", worker)
    time.sleep(1.0)  # a real trial trains for seconds; this tiny one takes milliseconds
    return run(trial)

(barrier / f"ready{worker}").touch()  # start together: both have imported torch and loaded data
t0 = time.monotonic()
while len(list(barrier.glob("ready*"))) < 2 and time.monotonic() - t0 < 300:
    time.sleep(0.05)
# states=None counts running trials too, so n is the study's total, not this worker's
study.optimize(trial_of_worker, n_trials=n, callbacks=[MaxTrialsCallback(n, states=None)])
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_workers_finish_one_study_of_n_trials_in_total(tmp_path):
    """The project's objective in two processes on one storage, stopped at n_trials in total."""
    import optuna

    url, n = f"sqlite:///{tmp_path / 'study.db'}", 4
    optuna.create_study(study_name="tune-t-tpe", storage=url, direction="minimize")
    folder = _tune_project(tmp_path / "project", url, n)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    cmds = [[sys.executable, "-c", WORKER, url, str(i), str(n), str(barrier)] for i in (0, 1)]
    _start_both(cmds, [folder, folder], _env(PYTHONPATH=str(ROOT / "src")))

    study = optuna.load_study(study_name="tune-t-tpe", storage=url)
    finished = _finished(study)
    assert len(study.trials) == len(finished) == n, [(t.number, t.state.name) for t in study.trials]
    by = [t.user_attrs["worker"] for t in finished]
    assert {0, 1} <= set(by), by  # both processes contributed
    assert len({(t.params["epochs"], t.params["lr"]) for t in finished}) == n  # no duplicated trial
