"""evaluate@ and classify@'s inference layout: NCHW against channels-last, per trained model.

    .venv/bin/python benchmarks/inference_layout.py [--variants a,b] [--pairs 3] [--n 500]
        [--out metrics/bench/inference_layout.json]

For every variant whose checkpoint models/<variant>.pt exists and whose model has 2-D
convolutions (default: all of params.yaml's variants), one process times
`model.reconstruct` of the first n test images (the evaluation batch, 500 by default) as
the checkpoint loads it (NCHW weights) and after aelab.core.runtime.cpu_layout
(channels-last weights), alternated A B A B … for --pairs pairs. It prints the best
seconds of each side, their ratio (NCHW / channels-last: above 1 means channels-last is
faster) and the largest absolute difference between the two sides' outputs.
Timings on a shared 2-core box are noisy: read the best of each side and their ratio.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import context, variant_parser  # noqa: E402


def best_seconds(fn, x, repeats: int = 2) -> tuple[float, "object"]:
    """(best wall seconds of `repeats` calls of fn(x), the last output)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(x)
        best = min(best, time.perf_counter() - t)
    return best, out


def measure(model, x, pairs: int) -> dict:
    """Alternated NCHW / channels-last timings of model.reconstruct on x (N, C, H, W)."""
    import torch

    from aelab.core.runtime import cpu_layout

    fast = cpu_layout(copy.deepcopy(model), "cpu")
    sides = {"nchw": model, "channels_last": fast}
    best = {k: float("inf") for k in sides}
    outs = {}
    with torch.inference_mode():
        for _ in range(pairs):
            for side, m in sides.items():
                s, outs[side] = best_seconds(m.reconstruct, x)
                best[side] = min(best[side], s)
    diff = float((outs["nchw"] - outs["channels_last"]).abs().max())
    return {"nchw_s": round(best["nchw"], 4), "channels_last_s": round(best["channels_last"], 4),
            "ratio": round(best["nchw"] / best["channels_last"], 3), "max_abs_diff": diff, "n": len(x)}


def main(argv=None) -> dict:
    ap = variant_parser(__doc__, ROOT / "metrics/bench/inference_layout.json", ROOT)
    ap.add_argument("--n", type=int, default=500, help="test images per reconstruct call")
    args = ap.parse_args(argv)

    import torch

    from aelab.checkpoint import load_checkpoint
    from aelab.core import paths
    from aelab.core.io import write_json
    from aelab.core.params import load_params
    from aelab.core.runtime import configure_torch, has_conv
    from aelab.data.contract import load_processed, to_model_input

    params = load_params(args.params)
    configure_torch(args.threads or params.runtime.threads, "cpu")
    names = [v for v in args.variants.split(",") if v] or list(params.variants)
    load_before = os.getloadavg()
    rows = {}
    for name in names:
        v = params.variant(name)
        if not paths.model_file(name).exists():
            print(f"{name:28s} skipped: {paths.model_file(name)} not built")
            continue
        model, _ = load_checkpoint(paths.model_file(name), torch.device("cpu"))
        if not has_conv(model.eval()):
            continue
        data = load_processed(paths.processed(v.dataset))
        x = to_model_input(data.x_test[:args.n], data.meta)
        rows[name] = {"model": v.model, **measure(model, x, args.pairs)}
        r = rows[name]
        print(f"{name:28s} NCHW {r['nchw_s']:.3f} s  channels-last {r['channels_last_s']:.3f} s  "
              f"ratio {r['ratio']:.2f}  max |diff| {r['max_abs_diff']:.1e}", flush=True)
    out = {"benchmark": "inference_layout", "pairs": args.pairs, "threads": torch.get_num_threads(),
           "variants": rows, **context(load_before)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
