"""train@'s precision: a training step in bf16 autocast against fp32, per image variant.

    .venv/bin/python benchmarks/train_precision.py [--variants a,b] [--pairs 3] [--steps 20]
        [--device auto] [--out metrics/bench/train_precision.json]

For every variant with 2-D convolutions (default: all of params.yaml's), one process builds
the net as train@ does (aelab.core.runtime.cpu_layout: channels-last on a CPU) and times
--steps training steps at the variant's own batch size with `train.bf16` on and off,
alternated A B A B … for --pairs pairs, each side from the same initial weights. A step is
what aelab.train.fit does per batch (autocast forward, backward, Adam step); a GAN's is
one D and one G step (its own_fit). It prints the median step of each side's best pair and
their ratio (bf16 / fp32: above 1 means fp32 is faster), and for nets whose loss is
deterministic (no sampling: AEs) the median relative error of the weight gradients of one
batch against float64, in each precision. --device auto (as runtime.device) measures on a
GPU where there is one (the clock read after a CUDA sync). Use it before turning `bf16` on: on the 2-core
Xeon (avx512_bf16, no AMX) fp32 steps were 1.2–1.6× faster than bf16 for the 13 variants
that then used bf16, and equal to 1.08× faster for the two small nets that did not.
The GAN side repeats own_fit's Adam settings (betas 0.5/0.999) rather than importing them.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import context, variant_parser  # noqa: E402


def step_fn(model, cfg, device, bf16: bool):
    """One training step of `model` on a batch (what fit / the GAN's own_fit do per batch)."""
    import dataclasses

    import torch

    from aelab.train import autocast, make_optimizer

    cfg = dataclasses.replace(cfg, bf16=bf16)
    if hasattr(model, "discriminator"):  # GAN: Adam(lr, betas 0.5/0.999) on each player
        opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(model.generator.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        return lambda xb: model._step(xb, torch.randn(len(xb), model.latent_dim, device=device), opt_d, opt_g,
                                      cfg, device)
    opt = make_optimizer(model.parameters(), cfg)

    def step(xb):
        with autocast(device, bf16):
            loss = model(xb).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def median_step(model, cfg, x, steps: int, device, bf16: bool) -> float:
    """Median seconds of `steps` steps (after 2 warm-up steps) on consecutive batches of x
    (x already on `device`; on CUDA each step is timed to a synchronize, kernels being async)."""
    import torch

    from aelab.core.runtime import cpu_layout

    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    m = cpu_layout(copy.deepcopy(model).to(device), device).train()
    step, bs, times = step_fn(m, cfg, device, bf16), cfg.batch_size, []
    for i in range(steps + 2):
        sync()
        t = time.perf_counter()
        step(x[(i * bs) % len(x):(i * bs) % len(x) + bs])
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times[2:])


def gradient_errors(model, x, device) -> dict | None:
    """Median relative error of each weight gradient of one batch vs float64, per precision;
    None when the loss is stochastic (two seeds differ; on a GPU also when its kernels are not
    deterministic), where such a comparison means nothing. x is on `device`."""
    import torch

    from aelab.core.runtime import cpu_layout
    from aelab.train import autocast

    def grads(dtype, bf16: bool, seed: int = 0):
        m = copy.deepcopy(model).to(device=device, dtype=dtype).train()
        m = cpu_layout(m, device) if dtype == torch.float32 else m
        torch.manual_seed(seed)
        with autocast(device, bf16):
            loss = m(x.to(dtype)).loss.float()
        loss.backward()
        return [p.grad.double().flatten() for p in m.parameters() if p.grad is not None]

    if hasattr(model, "discriminator"):
        return None
    if any(not torch.equal(a, b) for a, b in zip(grads(torch.float32, False, 0), grads(torch.float32, False, 1))):
        return None
    ref = grads(torch.float64, False)

    def err(g):
        return statistics.median(float((a - b).norm() / b.norm()) for a, b in zip(g, ref) if b.norm() > 1e-8)
    return {"fp32": round(err(grads(torch.float32, False)), 5), "bf16": round(err(grads(torch.float32, True)), 5)}


def main(argv=None) -> dict:
    ap = variant_parser(__doc__, ROOT / "metrics/bench/train_precision.json", ROOT)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per side and pair")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="as runtime.device: auto = CUDA where present")
    args = ap.parse_args(argv)

    import torch

    from aelab.core import paths
    from aelab.core.io import write_json
    from aelab.core.params import load_params
    from aelab.core.runtime import configure_torch, has_conv
    from aelab.data.contract import load_processed, to_model_input
    from aelab.models import build_model

    params = load_params(args.params)
    device = configure_torch(args.threads or params.runtime.threads, args.device)
    names = [v for v in args.variants.split(",") if v] or list(params.variants)
    load_before, rows = os.getloadavg(), {}
    # why a gradient error is missing: two seeds of an fp32 step disagree (gradient_errors)
    na = "n/a (" + ("stochastic loss" if device.type == "cpu" else "stochastic loss or non-deterministic GPU kernels") + ")"
    for name in names:
        v = params.variant(name)
        data = load_processed(paths.processed(v.dataset))
        torch.manual_seed(params.seed)
        model = build_model(v.model, v.model_cfg, data.sample_shape)
        if not has_conv(model) or model.needs_labels:
            continue
        x = to_model_input(data.x_train[:v.train.batch_size * 8], data.meta).to(device)
        best = {True: float("inf"), False: float("inf")}
        for pair in range(args.pairs):
            for bf16 in ((True, False) if pair % 2 == 0 else (False, True)):  # who goes first alternates
                best[bf16] = min(best[bf16], median_step(model, v.train, x, args.steps, device, bf16))
        rows[name] = {"model": v.model, "batch_size": v.train.batch_size, "bf16_in_params": v.train.bf16,
                      "bf16_step_s": round(best[True], 5), "fp32_step_s": round(best[False], 5),
                      "bf16_over_fp32": round(best[True] / best[False], 3),
                      "gradient_error_vs_fp64": gradient_errors(model, x[:32], device)}
        r = rows[name]
        print(f"{name:28s} batch {r['batch_size']:3d}  bf16 {r['bf16_step_s'] * 1e3:7.1f} ms  fp32 "
              f"{r['fp32_step_s'] * 1e3:7.1f} ms  bf16/fp32 {r['bf16_over_fp32']:.2f}  gradient error "
              f"{r['gradient_error_vs_fp64'] or na}", flush=True)
    out = {"benchmark": "train_precision", "device": str(device), "pairs": args.pairs, "steps": args.steps,
           "threads": torch.get_num_threads(), "variants": rows, **context(load_before)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()
