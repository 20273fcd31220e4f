"""Run the pipeline's stage commands in dependency order, several at a time, outside DVC.

    python scripts/run_stages.py [-j 8] [--threads 2] [--skip download@,preprocess@,ood@]
        [--only train@] [--deadline 600] [--out timing/run_stages.json]

`dvc repro` runs one stage after another, so a machine with many cores (or a GPU that the
CPU-bound evaluate@/classify@ stages leave idle) gets no more speed from it. This runner
reads every stage's command, dependencies and outputs from dvc.lock (the last run's record,
with foreach stages already expanded), orders them by those paths (a stage waits for every
stage whose output is, contains or lies inside one of its dependencies), and runs up to -j
of them at once, the longest remaining chain first (chain lengths from the timing/ files of
an earlier run, 10 s where there is none). It is how the pipeline was measured on a GPU
machine that has no DVC install and many cores (README, "Scale-out: a GPU").

It checks no hashes and writes no dvc.lock: it runs what it is told. After a full run,
`dvc commit -f` records the outputs in dvc.lock (DVC then hashes them; nothing reruns).
Skipped stages (--skip) count as done: their outputs must already be there. A failed stage
blocks everything downstream of it; the others go on. At --deadline seconds no new stage
starts and the running ones are stopped; --resume then skips what that run finished. The summary (per stage: status, start, wall
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


def run(stages: dict[str, Stage], jobs: int, env: dict, deadline_s: float, python: str,
        timing_dir: Path, logs: Path, log=print) -> dict[str, dict]:
    """Run `stages` with up to `jobs` at once, each one's output to logs/<stage>.log;
    → per stage {status, start_s, wall_s[, rc]}."""
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
                ok = proc.returncode == 0
                result[n] = {"status": "ok" if ok else "failed", "rc": proc.returncode,
                             "start_s": round(start, 2), "wall_s": round(now - start, 2)}
                log(f"[{now:7.1f}s] {'done  ' if ok else 'FAILED'} {n} ({now - start:.1f} s)")
                if not ok:
                    log(tail(logs / f"{n}.log"))
        for n in [n for n in pending if any(result.get(d, {}).get("status", "ok") != "ok"
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
        for n in [n for n in pending if all(result.get(d, {}).get("status") == "ok" for d in stages[n].needs)]:
            if len(running) >= jobs:
                break
            pending.remove(n)
            with open(logs / f"{n}.log", "w") as out:  # the child keeps its own copy of the handle
                running[n] = (subprocess.Popen(command(stages[n].cmd, python), cwd=ROOT, env=env,
                                               stdout=out, stderr=subprocess.STDOUT), now)
            log(f"[{now:7.1f}s] start  {n}")
        time.sleep(0.2)
    return result


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
    ap.add_argument("--skip", default="download@,preprocess@,ood@", help="stages taken as done")
    ap.add_argument("--deadline", type=float, default=float("inf"), help="seconds; then stop")
    ap.add_argument("--lock", type=Path, default=ROOT / "dvc.lock")
    ap.add_argument("--timing", type=Path, default=ROOT / "timing", help="earlier timing files (chain order)")
    ap.add_argument("--logs", type=Path, default=ROOT / "timing" / "logs", help="one output file per stage")
    ap.add_argument("--out", type=Path, default=ROOT / "timing" / "run_stages.json")
    ap.add_argument("--resume", action="store_true",
                    help="also take as done the stages that --out (an earlier run's summary) records as ok")
    a = ap.parse_args(argv)
    split = lambda s: [p for p in s.split(",") if p]  # noqa: E731
    skip = split(a.skip) + (finished(a.out) if a.resume else [])
    stages = select(load_stages(a.lock), split(a.only), skip)
    costs = {n: json.loads(f.read_text()) for n in stages if (f := a.timing / f"{n}.json").exists()}
    env = {**os.environ, "AELAB_THREADS": str(a.threads)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    print(f"{len(stages)} stages, {a.jobs} at a time, {a.threads} thread(s) each", flush=True)
    t0 = time.monotonic()
    result = run(stages, a.jobs, env, a.deadline, sys.executable, a.timing, a.logs,
                 log=lambda m: print(m, flush=True))
    wall = time.monotonic() - t0
    summary = {"wall_s": round(wall, 1), "jobs": a.jobs, "threads": a.threads,
               "counts": {k: sum(r["status"] == k for r in result.values())
                          for k in ("ok", "failed", "blocked", "stopped", "not started")},
               "earlier_total_s": round(sum(c.get("total_s", 0.0) for c in costs.values()), 1),
               "stages": result}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wall {wall:.1f} s; {summary['counts']}", flush=True)
    return 0 if summary["counts"]["ok"] == len(stages) else 1


if __name__ == "__main__":
    sys.exit(main())
