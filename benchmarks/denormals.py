"""Denormal floats: does flushing them to zero speed up training on this CPU?

    .venv/bin/python benchmarks/denormals.py [--case fmnist_mlp_vae] [--pairs 3] [--epochs 4]
        [--subset N] [--threads 0] [--synthetic] [--out metrics/bench/denormals.json]

Why: on the 2-core Intel Xeon box every run of the Fashion-MNIST MLP VAE (benchmarks/
train_speed.py, project and plain loop alike) slowed from about 2.1 s to 4.0 s per epoch
within three epochs, while the conv VAE stayed flat. After one epoch about 400,000 of its
Adam state's 1.07 million values are denormal (below 1.2e-38: momentum of weights whose
gradient is mostly zero decays through that range), and arithmetic on denormals is slow on
many x86 cores. On an AMD EPYC box the epochs stayed flat and flushing changed nothing.

One run alternates fresh processes, A B A B … (one pair per seed): A keeps denormals,
B calls torch.set_flush_denormal(True) before torch's first operation, so the intra-op
threads, started later, inherit the flush-to-zero mode (a thread starts with its creator's
floating-point state; a later call reaches only the calling thread). Both train the case's
model (train_speed.py's plain copy, the project's fused Adam) on the same data, batch, lr,
epochs and seed, and report each epoch's seconds, the denormal values left in weights and
Adam state, and the final test loss.
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
TINY = 1.1754943508222875e-38  # smallest normal float32


def denormals_left_by_parallel_multiply() -> int:
    """Denormals a parallel multiply leaves in 2**20 of them (0 when every thread flushes)."""
    import torch

    return int((torch.full((1 << 20,), 1e-39) * 1.0).count_nonzero())


def count_denormals(tensors) -> int:
    import torch

    n = 0
    for t in tensors:
        if torch.is_tensor(t) and t.is_floating_point() and t.numel() > 1:
            a = t.detach().abs()
            n += int(((a > 0) & (a < TINY)).sum())
    return n


def child(args: argparse.Namespace) -> dict:
    """One side in this fresh process: per-epoch seconds, denormals, test loss."""
    import torch

    flushing = torch.set_flush_denormal(args.child == "flush")  # before any op: threads inherit it
    if args.threads:
        torch.set_num_threads(args.threads)
    import train_speed as ts

    case = ts.load_case(args.case, synthetic=args.synthetic, subset=args.subset)
    t = case.variant.train
    torch.manual_seed(args.seed)
    model = ts.plain_model(case)
    opt = torch.optim.Adam(model.parameters(), lr=t.lr, fused=True)  # as aelab.train.make_optimizer
    gen = torch.Generator().manual_seed(args.seed)
    epochs = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(case.x_train), generator=gen)
        for i in range(0, len(perm), t.batch_size):
            loss = model(case.x_train[perm[i:i + t.batch_size]])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        state = [s for st in opt.state.values() for s in st.values()]
        epochs.append({"seconds": round(seconds, 4), "denormal_weights": count_denormals(model.parameters()),
                       "denormal_adam_state": count_denormals(state)})
    test_loss = ts.plain_eval(model, case.x_test, 500, "cpu")
    return {"side": args.child, "seed": args.seed, "flush_supported": bool(flushing),
            "denormals_left_by_parallel_multiply": denormals_left_by_parallel_multiply(),
            "threads": torch.get_num_threads(), "epochs": epochs, "test_loss": round(test_loss, 5),
            "n_train": len(case.x_train), "source": case.source}


def run_side(args: argparse.Namespace, side: str, seed: int) -> dict:
    cmd = [sys.executable, __file__, "--child", side, "--seed", str(seed), "--case", args.case,
           "--epochs", str(args.epochs), "--subset", str(args.subset), "--threads", str(args.threads)]
    if args.synthetic:
        cmd.append("--synthetic")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"the {side} side (seed {seed}) failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict]) -> dict:
    secs = [e["seconds"] for r in runs for e in r["epochs"]]
    return {"best_epoch_s": min(secs), "median_epoch_s": round(statistics.median(secs), 4),
            "first_epoch_s_mean": round(statistics.mean(r["epochs"][0]["seconds"] for r in runs), 4),
            "last_epoch_s_mean": round(statistics.mean(r["epochs"][-1]["seconds"] for r in runs), 4),
            "denormal_adam_state_last": [r["epochs"][-1]["denormal_adam_state"] for r in runs],
            "denormals_left_by_parallel_multiply": [r["denormals_left_by_parallel_multiply"] for r in runs],
            "test_loss_mean": round(statistics.mean(r["test_loss"] for r in runs), 5), "runs": runs}


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="fmnist_mlp_vae", choices=["fmnist_mlp_vae", "mnist_conv_vae"])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--subset", type=int, default=0, help="first N training images (0 = all)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--synthetic", action="store_true", help="random binary images: speed only")
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/bench/denormals.json")
    ap.add_argument("--child", choices=["keep", "flush"], help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return
    from common import context

    load_before = os.getloadavg()
    sides: dict[str, list[dict]] = {"keep": [], "flush": []}
    for seed in range(args.pairs):
        for side in sides:
            sides[side].append(run_side(args, side, seed))
            print(f"seed {seed} {side:5s} epochs {[e['seconds'] for e in sides[side][-1]['epochs']]} s, "
                  f"test loss {sides[side][-1]['test_loss']}", flush=True)
    res = {name: summarize(runs) for name, runs in sides.items()}
    keep, flush = res["keep"], res["flush"]
    out = {"benchmark": "denormals", "case": args.case,
           "settings": {k: getattr(args, k) for k in ("pairs", "epochs", "subset", "threads", "synthetic")},
           "speedup_best_epoch": round(keep["best_epoch_s"] / flush["best_epoch_s"], 3),
           "speedup_median_epoch": round(keep["median_epoch_s"] / flush["median_epoch_s"], 3),
           "test_loss_rel_diff": round(flush["test_loss_mean"] / keep["test_loss_mean"] - 1, 5),
           **res, **context(load_before)}
    print(f"keep denormals: first/last epoch {keep['first_epoch_s_mean']:.2f}/{keep['last_epoch_s_mean']:.2f} s; "
          f"flush: {flush['first_epoch_s_mean']:.2f}/{flush['last_epoch_s_mean']:.2f} s; speed-up "
          f"{out['speedup_median_epoch']:.2f} (median epoch), test loss {out['test_loss_rel_diff']:+.2%}")
    from aelab.core.io import write_json

    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
