"""Run the pipeline's stages in dependency order, several at a time.

    python scripts/run_stages.py --dvc [-j 2] [--threads 1] [-f]     # a parallel `dvc repro`
    python scripts/run_stages.py [-j 8] [--threads 2] [--skip download@,preprocess@,ood@]
        [--only train@] [--deadline 600] [--resume] [--out timing/run_stages.json]

`dvc repro` runs one stage after another, so a machine with two or more cores (or a GPU that
the CPU-bound evaluate@/classify@ stages leave idle) gets no more speed from it. This runner
starts up to -j stages at once, the longest remaining chain first (chain lengths from the
timing/ files of an earlier run, 10 s where there is none); a stage starts once every stage
it depends on is done. A failed stage blocks everything downstream of it; the others go on.
At --deadline seconds no new stage starts and the running ones are stopped.

With --dvc it is `dvc repro` run in parallel (scripts/repro.sh uses it): DVC's stage graph,
DVC's change check when a stage's turn comes, so unchanged stages are skipped, and each
finished stage is hashed, cached and written to dvc.lock as `dvc repro` does. Afterwards
`dvc status` is clean.

Without --dvc it needs no DVC install (this is how the pipeline ran on a GPU machine; README,
"Scale-out: a GPU"). It reads every stage's command, dependencies and outputs from dvc.lock
(foreach stages already expanded) and orders them by those paths: a stage waits for every
stage whose output is, contains or lies inside one of its dependencies. It checks no hashes
and writes no dvc.lock: it runs what it is told, and `dvc commit -f` can record the outputs
afterwards. Skipped stages (--skip) count as done, so their outputs must already be there.
--resume skips what an earlier run finished. The summary (per stage: status, start, wall
seconds) goes to --out; each stage also writes its own timing/ file as under DVC.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COST_S = 10.0  # a stage without an earlier timing file


@dataclass
class Stage:
    name: str
    cmd: str
    deps: list[str]
    outs: list[str]
    needs: set[str] = field(default_factory=set)  # names of the stages this one waits for


def overlaps(a: str, b: str) -> bool:
    """Whether paths a and b are the same or one lies inside the other."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def load_stages(lock: Path) -> dict[str, Stage]:
    """Every stage dvc.lock records, each with the stages that produce its dependencies."""
    raw = yaml.safe_load(lock.read_text())["stages"]
    stages = {n: Stage(n, s["cmd"], [d["path"] for d in s.get("deps", [])],
                       [o["path"] for o in s.get("outs", [])]) for n, s in raw.items()}
    for st in stages.values():
        st.needs = {o.name for o in stages.values() if o is not st
                    and any(overlaps(d, out) for d in st.deps for out in o.outs)}
    return stages


def matches(name: str, patterns: list[str]) -> bool:
    """A pattern is a stage's name, or a kind ending in @ ("train@") for all of that kind."""
    return any(name == p or (p.endswith("@") and name.startswith(p)) for p in patterns)


def select(stages: dict[str, Stage], only: list[str], skip: list[str]) -> dict[str, Stage]:
    """The stages to run: those --only names (all if none), minus --skip. A dependency on a
    stage outside the run counts as met (its outputs are taken as they are)."""
    run = {n: s for n, s in stages.items()
           if (not only or matches(n, only)) and not matches(n, skip)}
    for s in run.values():
        s.needs &= run.keys()
    return run


def chain_costs(stages: dict[str, Stage], timing_dir: Path) -> dict[str, float]:
    """Seconds from each stage's start to the end of the longest chain that waits for it."""
    own = {}
    for n in stages:
        f = timing_dir / f"{n}.json"
        own[n] = json.loads(f.read_text()).get("total_s", DEFAULT_COST_S) if f.exists() else DEFAULT_COST_S
    users = {n: [m for m, s in stages.items() if n in s.needs] for n in stages}
    cost: dict[str, float] = {}

    def total(n: str) -> float:
        if n not in cost:
            cost[n] = own[n] + max((total(u) for u in users[n]), default=0.0)
        return cost[n]

    for n in stages:
        total(n)
    return cost


def command(cmd: str, python: str) -> list[str]:
    """The stage's argv, its leading `python` replaced by this interpreter."""
    argv = shlex.split(cmd)
    return [python, *argv[1:]] if argv and argv[0] in ("python", "python3") else argv


def tail(path: Path, lines: int = 8) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


class Plain:
    """Runs each selected stage's command as the lock records it; checks and records nothing."""

    def __init__(self, stages: dict[str, Stage], env: dict, python: str):
        self.stages, self.env, self.python = stages, env, python

    def wanted(self, name: str) -> bool:
        return True

    def start(self, name: str, out) -> subprocess.Popen:
        return subprocess.Popen(command(self.stages[name].cmd, self.python), cwd=ROOT, env=self.env,
                                stdout=out, stderr=subprocess.STDOUT)

    def record(self, name: str) -> str | None:
        return None  # → an error message when the finished stage could not be recorded


DONE = ("ok", "unchanged")  # what lets the stages downstream start


def run(stages: dict[str, Stage], jobs: int, runner, deadline_s: float, timing_dir: Path, logs: Path,
        log=print) -> dict[str, dict]:
    """Run `stages` with up to `jobs` at once, each one's output to logs/<stage>.log. A stage
    whose upstream is done asks runner.wanted (False: unchanged, nothing to run), then
    runner.start; when it exits 0, runner.record. → per stage {status, start_s, wall_s[, rc]}."""
    logs.mkdir(parents=True, exist_ok=True)
    cost = chain_costs(stages, timing_dir)
    pending = sorted(stages, key=lambda n: -cost[n])  # longest chain first
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    result: dict[str, dict] = {}
    t0 = time.monotonic()
    while pending or running:
        now = time.monotonic() - t0
        for n, (proc, start) in list(running.items()):
            if proc.poll() is not None:
                del running[n]
                error = runner.record(n) if proc.returncode == 0 else None
                ok = proc.returncode == 0 and error is None
                result[n] = {"status": "ok" if ok else "failed", "rc": proc.returncode,
                             "start_s": round(start, 2), "wall_s": round(now - start, 2)}
                if error:
                    result[n]["error"] = error
                log(f"[{now:7.1f}s] {'done  ' if ok else 'FAILED'} {n} ({now - start:.1f} s)")
                if not ok:
                    log(error or tail(logs / f"{n}.log"))
        for n in [n for n in pending if any(result.get(d, {}).get("status", "ok") not in DONE
                                            for d in stages[n].needs if d in result)]:
            pending.remove(n)
            result[n] = {"status": "blocked"}
            log(f"[{now:7.1f}s] blocked {n}")
        if now >= deadline_s:
            for n, (proc, start) in running.items():
                proc.kill()
                proc.wait()
                result[n] = {"status": "stopped", "start_s": round(start, 2), "wall_s": round(now - start, 2)}
            for n in pending:
                result[n] = {"status": "not started"}
            log(f"[{now:7.1f}s] deadline: {len(running)} stopped, {len(pending)} not started")
            break
        skipped = False
        for n in [n for n in pending if all(result.get(d, {}).get("status") in DONE for d in stages[n].needs)]:
            if len(running) >= jobs:
                break
            pending.remove(n)
            if not runner.wanted(n):
                result[n], skipped = {"status": "unchanged"}, True
                log(f"[{now:7.1f}s] unchanged {n}")
                continue
            with open(logs / f"{n}.log", "w") as out:  # the child keeps its own copy of the handle
                running[n] = (runner.start(n, out), now)
            log(f"[{now:7.1f}s] start  {n}")
        if not skipped:  # an unchanged stage may have freed the next ones: look again at once
            time.sleep(0.2)
    return result


@contextmanager
def fast_params():
    """DVC's change check (and its save after a run) reads params.yaml again for every stage:
    a ruamel parse (about 25 ms, 3 s of a no-op over 123 stages), then one `dpath.get` per
    declared key, which walks the whole params tree (about 3 ms a key, 365 keys). Nothing
    writes the file during a run, so it is parsed once per (mtime, size) and copies are handed
    out; a plain dotted key that names nested dicts is looked up directly, anything else
    (globs, list indices, a missing key) still goes to dpath. DVC's and dpath's functions come
    back afterwards; where their names are gone (an upgrade), nothing is changed."""
    import pickle

    import dvc.dependency.param as param

    real_load, real_get = getattr(param, "load_path", None), getattr(getattr(param, "dpath", None), "get", None)
    if real_load is None or real_get is None:
        yield
        return
    parsed: dict = {}

    def load_path(path, fs, **kw):
        info = fs.info(path)
        key = (str(path), info.get("mtime"), info.get("size"), repr(sorted(kw.items())))
        if key not in parsed:
            parsed[key] = pickle.dumps(real_load(path, fs, **kw))
        return pickle.loads(parsed[key])  # a fresh copy: DVC may keep what it is given

    def get(obj, glob, separator="/", **kw):
        if separator == "." and isinstance(glob, str) and not any(c in glob for c in "*?[]\\"):
            node = obj
            for seg in glob.split("."):
                if not (isinstance(node, dict) and seg in node):
                    return real_get(obj, glob, separator=separator, **kw)
                node = node[seg]
            return node
        return real_get(obj, glob, separator=separator, **kw)

    param.load_path, param.dpath.get = load_path, get
    try:
        yield
    finally:
        param.load_path, param.dpath.get = real_load, real_get


class Dvc:
    """`dvc repro`, several stages at a time: DVC's own stage graph (dvc.yaml, so new variants
    too), DVC's change check as each stage's turn comes (its upstream has rerun by then), DVC's
    shell and environment for the command, and each finished stage saved to the cache and to
    dvc.lock as `dvc repro` would (batched: the lock is rewritten at most every FLUSH_S)."""

    FLUSH_S = 60.0

    def __init__(self, root: Path, force: bool = False, run_env: dict | None = None):
        from dvc.repo import Repo
        from dvc.repo.reproduce import get_active_graph

        self.repo = Repo(str(root))
        self.graph = get_active_graph(self.repo.index.graph)  # edges: a stage → its upstream
        self.objs = {self.key(st): st for st in self.graph}
        self.keys = {st: k for k, st in self.objs.items()}
        self.force, self.run_env = force, dict(run_env or {})
        self.unsaved: list = []
        self.last_flush = time.monotonic()

    def key(self, st) -> str:
        """As DVC addresses a stage from the project root: `train@x`; `sub/dvc.yaml:name`; `x.dvc`."""
        from dvc.stage import PipelineStage

        rel = os.path.relpath(st.path, self.repo.root_dir)
        if isinstance(st, PipelineStage):
            return st.name if rel == "dvc.yaml" else f"{rel}:{st.name}"
        return rel

    def stages(self) -> dict[str, Stage]:
        out = {}
        for name, st in self.objs.items():
            cmd = "\n".join(st.cmd) if isinstance(st.cmd, list) else (st.cmd or "")
            out[name] = Stage(name, cmd, [d.def_path for d in st.deps], [o.def_path for o in st.outs],
                              {self.keys[u] for u in self.graph.successors(st)})
        return out

    def wanted(self, name: str) -> bool:
        st = self.objs[name]
        if not st.cmd or st.frozen:  # a data source (.dvc file) or a frozen stage: as it is
            return False
        with self.repo.lock:
            return self.force or st.changed(upstream=list(self.graph.successors(st)))

    def start(self, name: str, out) -> subprocess.Popen:
        from dvc.stage.run import _make_cmd, get_executable, prepare_kwargs

        st = self.objs[name]
        with self.repo.lock:
            st.remove_outs(ignore_remove=False, force=False)  # as Stage.run: persist outs stay
        kw = prepare_kwargs(st, run_env=self.run_env)  # DVC_ROOT, DVC_STAGE, cwd = the stage's wdir
        cmd = " && ".join(st.cmd) if isinstance(st.cmd, list) else st.cmd
        return subprocess.Popen(_make_cmd(get_executable(), cmd), stdout=out, stderr=subprocess.STDOUT,
                                cwd=kw["cwd"], env=kw["env"], close_fds=True)

    def record(self, name: str) -> str | None:
        from dvc.exceptions import DvcException

        st = self.objs[name]
        no_cache = any(not o.use_cache for o in st.outs if not (o.is_metric or o.is_plot))
        try:
            with self.repo.lock:
                st.save(run_cache=not no_cache)  # hashes deps and outs, as Stage.run
                st.commit()
        except DvcException as err:  # e.g. a declared output the command did not write
            return f"{name}: {err}"
        self.unsaved.append(st)
        if time.monotonic() - self.last_flush >= self.FLUSH_S:
            self.flush()
        return None

    def flush(self) -> None:
        """Write the recorded stages' entries into dvc.lock (one rewrite per dvc.yaml)."""
        by_file: dict = {}
        for st in self.unsaved:
            by_file.setdefault(st.dvcfile.path, (st.dvcfile, []))[1].append(st)
        with self.repo.lock:
            for dvcfile, sts in by_file.values():
                dvcfile.dump_stages(sts, update_pipeline=False)
        self.unsaved, self.last_flush = [], time.monotonic()

    def close(self) -> None:
        with self.repo.scm_context:  # git-adds dvc.lock where core.autostage is on, as dvc repro
            self.flush()
        self.repo.close()


def finished(summary: Path) -> list[str]:
    """The stages an earlier run's summary records as ok (none if there is no summary)."""
    if not summary.exists():
        return []
    return [n for n, r in json.loads(summary.read_text())["stages"].items() if r["status"] == "ok"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--threads", type=int, default=2, help="torch threads per stage (AELAB_THREADS)")
    ap.add_argument("--only", default="", help="comma-separated stage names or kinds (train@) to run (default: all)")
    ap.add_argument("--dvc", action="store_true",
                    help="a parallel `dvc repro`: DVC's graph, only changed stages, results recorded in dvc.lock")
    ap.add_argument("-f", "--force", action="store_true", help="with --dvc: rerun unchanged stages too")
    ap.add_argument("--skip", default=None,
                    help="stages taken as done (default: download@,preprocess@,ood@; none with --dvc)")
    ap.add_argument("--deadline", type=float, default=float("inf"), help="seconds; then stop")
    ap.add_argument("--root", type=Path, default=ROOT, help="with --dvc: the DVC project")
    ap.add_argument("--lock", type=Path, default=ROOT / "dvc.lock")
    ap.add_argument("--timing", type=Path, default=ROOT / "timing", help="earlier timing files (chain order)")
    ap.add_argument("--logs", type=Path, default=ROOT / "timing" / "logs", help="one output file per stage")
    ap.add_argument("--out", type=Path, default=ROOT / "timing" / "run_stages.json")
    ap.add_argument("--resume", action="store_true",
                    help="also take as done the stages that --out (an earlier run's summary) records as ok")
    a = ap.parse_args(argv)
    split = lambda s: [p for p in s.split(",") if p]  # noqa: E731
    default_skip = "" if a.dvc else "download@,preprocess@,ood@"
    skip = split(default_skip if a.skip is None else a.skip) + (finished(a.out) if a.resume else [])
    threads = {"AELAB_THREADS": str(a.threads)}
    t0 = time.monotonic()
    if a.dvc:
        os.chdir(a.root)  # DVC resolves some paths against the working directory (as `dvc -C`)
        runner = Dvc(a.root, force=a.force, run_env=threads)
        stages = select(runner.stages(), split(a.only), skip)
    else:
        env = {**os.environ, **threads}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
        stages = select(load_stages(a.lock), split(a.only), skip)
        runner = Plain(stages, env, sys.executable)
    costs = {n: json.loads(f.read_text()) for n in stages if (f := a.timing / f"{n}.json").exists()}
    print(f"{len(stages)} stages, {a.jobs} at a time, {a.threads} thread(s) each", flush=True)
    try:
        with fast_params() if a.dvc else nullcontext():
            result = run(stages, a.jobs, runner, a.deadline, a.timing, a.logs, log=lambda m: print(m, flush=True))
    finally:  # Ctrl-C included: what finished is in dvc.lock
        if a.dvc:
            runner.close()
    wall = time.monotonic() - t0
    summary = {"wall_s": round(wall, 1), "jobs": a.jobs, "threads": a.threads,
               "counts": {k: sum(r["status"] == k for r in result.values())
                          for k in ("ok", "unchanged", "failed", "blocked", "stopped", "not started")},
               "earlier_total_s": round(sum(c.get("total_s", 0.0) for c in costs.values()), 1),
               "stages": result}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wall {wall:.1f} s; {summary['counts']}", flush=True)
    return 0 if sum(summary["counts"][k] for k in DONE) == len(stages) else 1


if __name__ == "__main__":
    sys.exit(main())
