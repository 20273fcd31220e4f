"""Kill-safe, byte-identical stage outputs (issue 12, items 3 and 5).

train@, evaluate@ and classify@ write their figures, curves, model and metrics to hidden
temp paths (`.<name>.tmp-…`, .gitignored) and swap them in at the end (aelab.core.io
staged_outputs). The slow tests run the real stage scripts in a scratch git repo with tiny
params: each stage twice, comparing md5s; and kill -9 at spread-out points, checking that
the outputs are byte-identical to the old set or to the new one and that git sees no stray
file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from aelab.core import io as aio
from test_pipeline import ROOT, _run, tiny_params

# ---- the staging helper, in-process (fast) ----


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _stage_set(tmp_path: Path, fail: bool = False) -> None:
    with aio.staged_outputs(tmp_path / "plots/v", tmp_path / "metrics/v.json") as (plots, metrics):
        plots.mkdir()
        (plots / "a.png").write_text("new a")
        if fail:
            raise RuntimeError("stage failed half-way")
        aio.write_json(metrics, {"x": 2})


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two_renames"])
def test_staged_outputs_swap_in_a_whole_new_set_or_keep_the_old(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(aio, "_exchange", lambda a, b: False)
    (tmp_path / "plots/v").mkdir(parents=True)
    (tmp_path / "plots/v/a.png").write_text("old a")
    (tmp_path / "plots/v/gone.png").write_text("old only")
    aio.write_json(tmp_path / "metrics/v.json", {"x": 1})
    old = _tree(tmp_path)
    with pytest.raises(RuntimeError, match=r"^stage failed half-way$"):
        _stage_set(tmp_path, fail=True)
    assert _tree(tmp_path) == old  # nothing half-written, no temp left
    _stage_set(tmp_path)
    assert _tree(tmp_path) == {"plots/v/a.png": b"new a", "metrics/v.json": b'{\n  "x": 2\n}\n'}


def test_next_start_clears_stale_temps_and_restores_a_half_swapped_folder(tmp_path):
    """A kill between the two renames of the fallback swap leaves `.v.tmp-old` and no `v`:
    the next start puts the old folder back, then removes every `.v.tmp-*` leftover."""
    plots = tmp_path / "plots"
    (plots / ".v.tmp-old").mkdir(parents=True)
    (plots / ".v.tmp-old/a.png").write_text("old a")
    (plots / ".v.tmp-new").mkdir()
    (plots / ".v.tmp-new/torn.png").write_text("half")
    (plots / ".v.tmp-abc123").write_text("an atomic_path temp")
    (plots / ".v2.tmp-new").mkdir()  # another target's: not ours to touch
    aio.clear_stale(plots / "v")
    assert sorted(p.name for p in plots.iterdir()) == [".v2.tmp-new", "v"]
    assert (plots / "v/a.png").read_text() == "old a"


def test_gitignore_covers_every_temp_name_a_kill_can_leave():
    names = [aio.temp_beside(Path("plots/eval/v"), "new"), aio.temp_beside(Path("models/v.pt"), "new"),
             aio.temp_beside(Path("metrics/eval/v.json"), "old"), Path("plots/eval/v/.a.png.tmp-k2x9.png"),
             Path("metrics/train/.v.json.tmp-new.json.tmp-k2x9.json")]  # atomic_path inside a staged path
    res = subprocess.run(["git", "check-ignore", "--no-index", *map(str, names)], cwd=ROOT,
                         capture_output=True, text=True)
    assert sorted(res.stdout.split()) == sorted(map(str, names)), res.stderr


# ---- the stage scripts in a scratch project (slow) ----

OUTPUTS = {  # stage -> outputs of its variant, in aelab.core.paths terms
    "train": lambda v: [f"plots/train/{v}", f"models/{v}.pt", f"metrics/train/{v}.json"],
    "evaluate": lambda v: [f"plots/eval/{v}", f"metrics/eval/{v}.json"],
    "classify": lambda v: [f"plots/rf/{v}", f"metrics/rf/{v}.json"],
}
KILL_OUTPUTS = {**OUTPUTS, "download": lambda ds: [f"data/raw/{ds}"]}  # download@<dataset>


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict]:
    """Scratch git repo: stages, src, the real .gitignore, tiny params, moons/digits data."""
    work = tmp_path_factory.mktemp("killsafe")
    shutil.copytree(ROOT / "stages", work / "stages")
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in (".gitignore", ".dvcignore", ".dvc/config"):
        (work / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, work / name)
    (work / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    env = dict(os.environ, AELAB_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=str(work / "src"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    for ds in ("moons", "digits"):
        src = ROOT / f"data/processed/{ds}.npz"
        if src.exists():
            (work / "data/processed").mkdir(parents=True, exist_ok=True)
            shutil.copy(src, work / src.relative_to(ROOT))
        else:
            _stage(work, env, "download", ds)
            _stage(work, env, "preprocess", ds)
    _run(["git", "init", "-q"], work, env)
    _commit(work, env)
    return work, env


def _stage(work: Path, env: dict, stage: str, target: str) -> None:
    _run([sys.executable, f"stages/{stage}.py", target], work, env)


def _commit(work: Path, env: dict) -> None:
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "outputs", "--allow-empty"], work, env)


def _digest(work: Path, outputs: list[str]) -> dict[str, str]:
    files = [p for out in outputs for p in ([work / out] if (work / out).is_file() else
                                            sorted((work / out).rglob("*")))]
    return {str(p.relative_to(work)): hashlib.md5(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def _leftovers(work: Path) -> list[str]:
    return sorted(str(p.relative_to(work)) for d in ("models", "metrics", "plots", "data") for p in (work / d).rglob(".*"))


@pytest.mark.slow
def test_same_params_give_byte_identical_train_evaluate_classify_outputs(project):
    """Two runs of train@, evaluate@ and classify@ of digits_ae_z2 (each its own process, so
    also its own str-hash seed) give the same md5 for the model, every metrics file, curve
    and figure."""
    work, env = project
    outputs = [o for stage in OUTPUTS for o in OUTPUTS[stage]("digits_ae_z2")]
    runs = []
    for _ in range(2):
        for stage in OUTPUTS:
            _stage(work, env, stage, "digits_ae_z2")
        runs.append(_digest(work, outputs))
    assert len(runs[0]) >= 15 and any(p.endswith(".png") for p in runs[0])
    assert runs[0] == runs[1]
    assert _leftovers(work) == []


def _set(work: Path, dotted: str, value) -> None:
    p = yaml.safe_load((work / "params.yaml").read_text())
    d = p
    *head, last = dotted.split(".")
    for k in head:
        d = d[k]
    d[last] = value
    (work / "params.yaml").write_text(yaml.safe_dump(p, sort_keys=False))


def _timed_run(work: Path, env: dict, cmd: list[str], outputs: list[str], kill_at=None) -> tuple[float, float, bool]:
    """Run `cmd`, polling every 5 ms for its staged temp outputs; kill -9 it `kill_at(t_staged)`
    seconds after start (t_staged: when the first temp of this run appeared, None before; a
    stale one from a killed run does not count). Returns (t_staged, t_end, whether killed)."""
    temps = [work / aio.temp_beside(Path(o), "new") for o in outputs]
    stale = {_identity(t) for t in temps} - {None}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_staged = None
    while proc.poll() is None:
        now = time.perf_counter() - start
        if t_staged is None and {_identity(t) for t in temps} - stale - {None}:
            t_staged = now
        if kill_at is not None and now >= kill_at(t_staged):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return t_staged or 0.0, now, True
        time.sleep(0.005)
    return t_staged or 0.0, time.perf_counter() - start, False


def _identity(path: Path):
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_ctime_ns


def _restore(work: Path, outputs: list[str], files: dict[str, bytes]) -> None:
    for out in outputs:
        path = work / out
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)


@pytest.mark.slow
@pytest.mark.parametrize("stage,variant,key,value", [
    ("train", "moons_ae_z1", "variants.moons_ae_z1.train.lr", 0.003),
    ("evaluate", "digits_ae_z2", "evaluate.seed", 1),
    ("download", "moons", "data.moons.seed", 1),
])
def test_kill_at_any_point_of_train_evaluate_or_download_leaves_old_or_new_outputs(project, stage, variant, key, value):
    """kill -9 once before the stage starts writing and at 4 points spread over its writing
    (measured on an uninterrupted run): each time the outputs are byte-identical to the old
    set or the new one, and `git status` shows no stray file. The next full run clears the
    leftovers and gives the new set again, byte for byte."""
    work, env = project
    if stage == "train":
        _set(work, "variants.moons_ae_z1.train.epochs", 40)  # training long enough to hit
    elif stage == "evaluate":
        _stage(work, env, "train", variant)
    outputs, cmd = KILL_OUTPUTS[stage](variant), [sys.executable, f"stages/{stage}.py", variant]
    _stage(work, env, stage, variant)
    _commit(work, env)
    old, old_files = _digest(work, outputs), {p: (work / p).read_bytes() for p in _digest(work, outputs)}
    _set(work, key, value)
    t_staged, t_end, _ = _timed_run(work, env, cmd, outputs)
    new = _digest(work, outputs)
    assert t_staged > 0 and new != old
    points = [lambda ts: t_staged / 2] + [lambda ts, f=f: (ts or t_end) + f * (t_end - t_staged)
                                          for f in (0.2, 0.5, 0.8, 0.97)]
    seen = []
    for kill_at in points:
        _restore(work, outputs, old_files)
        killed = _timed_run(work, env, cmd, outputs, kill_at)[2]
        now = _digest(work, outputs)
        seen.append(("old" if now == old else "new" if now == new else "mixed")
                    + ("" if killed else " (finished first)") + f", {len(_leftovers(work))} temp(s) left")
        status = _run(["git", "status", "--porcelain", "--untracked-files=all"], work, env).stdout.splitlines()
        stray = [line for line in status if line[3:] not in {*old, *new, "params.yaml"}]
        assert not seen[-1].startswith("mixed") and stray == [], (seen, stray, sorted(set(now.items()) ^ set(old.items())))
    print(f"{stage}@{variant}: kill at {len(points)} points: {seen}")
    _timed_run(work, env, cmd, outputs)  # clears what the kills left
    assert _digest(work, outputs) == new and _leftovers(work) == []
    _run(["git", "checkout", "-q", "--", "."], work, env)  # params and tracked outputs back
