"""Fixed cost of a stage that does nothing: fresh interpreter + imports + params + data load.

    .venv/bin/python benchmarks/stage_overhead.py [--repeats 5] [--out metrics/bench/stage_overhead.json]

Each level runs in its own fresh `python -c` process, levels alternated A B C D A B C D …
(timings on a shared 2-core box are noisy: read the best, the median is for context):
  interpreter   python -c pass
  params        + import aelab.core.cli, load and validate params.yaml (every stage does this)
  torch stage   + import torch (train/evaluate/classify/studies need it; data stages do not)
  + data        + load data/processed/mnist.npz as model input (a training stage's last step
                before work; skipped when the file does not exist)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import context  # noqa: E402
PARAMS = "from aelab.core.cli import stage_main; from aelab.core.params import load_params; load_params('params.yaml')"
DATA = ("from aelab.core import paths; from aelab.data.contract import load_processed, to_model_input; "
        "d = load_processed(paths.processed('mnist')); to_model_input(d.x_train, d.meta)")
LEVELS = {"interpreter": "pass", "params": PARAMS, "torch stage": PARAMS + "; import torch",
          "+ data": PARAMS + "; import torch; " + DATA}


def once(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/bench/stage_overhead.json")
    args = ap.parse_args()
    levels = dict(LEVELS)
    if not (ROOT / "data/processed/mnist.npz").exists():
        levels.pop("+ data")
    load_before = os.getloadavg()
    samples: dict[str, list[float]] = {k: [] for k in levels}
    for _ in range(args.repeats):
        for name, code in levels.items():
            samples[name].append(once(code))
    rows = {k: {"best_s": round(min(v), 3), "median_s": round(statistics.median(v), 3)} for k, v in samples.items()}
    out = {"benchmark": "stage_overhead", "repeats": args.repeats, "levels": rows,
           **context(load_before)}
    for name, r in rows.items():
        print(f"{name:12s} best {r['best_s']:.2f} s   median {r['median_s']:.2f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
