"""DVC's own cost per stage, for this project's dvc.yaml, params.yaml and dvc.lock.

    .venv/bin/python benchmarks/dvc_overhead.py [--base REV] [--pairs 3] [--out metrics/bench/dvc_overhead.json]

Two costs that grow with the pipeline, timed with DVC's own functions:
  lock rewrite   after every stage it runs, `dvc repro` re-reads the whole dvc.lock with
                 ruamel's round-trip loader and writes it back (dvc.dvcfile.Lockfile.dump_stages):
                 paid once per stage run, and proportional to the lock's size
  params read    `dvc status` and `dvc repro` decide whether each stage changed by reading
                 params.yaml once per stage and looking up each declared key in it
                 (dvc.dependency.param.read_param_file): paid on every run, even a no-op
With --base, the same three files at git revision REV are measured too (from a temporary
worktree), alternated with the current ones (A B A B …, one process), and the ratios printed.
Times are CPU seconds of this process (time.process_time): wall time on a shared 2-core VM
swung by 1.5× between identical passes, CPU time much less; read the best and the ratio.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import context  # noqa: E402


def lock_rewrite_seconds(text: str) -> float:
    """CPU seconds of one round trip of a dvc.lock text as `dvc repro` does it after each stage."""
    from dvc.utils.serialize._yaml import _dump, parse_yaml_for_update

    gc.collect()  # each side starts without the other's garbage
    t = time.process_time()
    data = parse_yaml_for_update(text, "dvc.lock")
    _dump(data, io.StringIO())
    return time.process_time() - t


def param_deps(root: Path) -> list:
    """Every stage's params.yaml dependency (DVC's ParamsDependency objects) in `root`."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    repo = Repo(str(root))
    return [d for s in repo.index.stages for d in s.deps if isinstance(d, ParamsDependency)]


def params_read_seconds(deps: list) -> float:
    """CPU seconds `dvc status` spends deciding whether params changed: one read per stage."""
    gc.collect()
    t = time.process_time()
    for d in deps:
        d.read_params()
    return time.process_time() - t


def sizes(root: Path, deps: list) -> dict:
    lock = (root / "dvc.lock").read_text()
    return {"lock_lines": lock.count("\n"), "stages_with_params": len(deps),
            "declared_param_keys": sum(len(d.params or []) for d in deps)}


def measure(roots: dict[str, Path], pairs: int) -> dict:
    deps = {k: param_deps(r) for k, r in roots.items()}
    locks = {k: (r / "dvc.lock").read_text() for k, r in roots.items()}
    samples = {k: {"lock_rewrite_s": [], "params_read_s": []} for k in roots}
    for _ in range(pairs):  # alternated, so load changes hit both sides alike
        for k in roots:
            samples[k]["lock_rewrite_s"].append(lock_rewrite_seconds(locks[k]))
            samples[k]["params_read_s"].append(params_read_seconds(deps[k]))
    return {k: {**sizes(roots[k], deps[k]),
                **{m: {"best": round(min(v), 3), "median": round(statistics.median(v), 3)}
                   for m, v in samples[k].items()}} for k in roots}


def base_worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True,
                   capture_output=True)
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="git revision to compare with (its dvc.yaml, params.yaml, dvc.lock)")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/bench/dvc_overhead.json")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"current": ROOT}
        if args.base:
            roots = {f"base {args.base}": base_worktree(args.base, Path(tmp) / "base"), **roots}
        try:
            rows = measure(roots, args.pairs)
        finally:
            if args.base:
                subprocess.run(["git", "worktree", "remove", "--force", str(Path(tmp) / "base")], cwd=ROOT,
                               capture_output=True)
    for name, r in rows.items():
        print(f"{name:>16s}: dvc.lock {r['lock_lines']} lines, rewrite best {r['lock_rewrite_s']['best']:.2f} s; "
              f"{r['declared_param_keys']} param keys in {r['stages_with_params']} stages, "
              f"read best {r['params_read_s']['best']:.2f} s")
    if args.base:
        (b, rb), (c, rc) = rows.items()
        for m in ("lock_rewrite_s", "params_read_s"):
            print(f"{m}: current / base = {rc[m]['best'] / rb[m]['best']:.2f} (best), "
                  f"{rc[m]['median'] / rb[m]['median']:.2f} (median)")
    out = {"benchmark": "dvc_overhead", "pairs": args.pairs, "results": rows,
           **context(load_before)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
