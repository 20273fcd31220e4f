"""Training speed: the project's fit() against a minimal plain-PyTorch loop doing the same work.

    .venv/bin/python benchmarks/train_speed.py [--case fmnist_mlp_vae|mnist_conv_vae|all]
        [--pairs 3] [--epochs 3] [--subset N] [--threads 0] [--synthetic]
        [--out metrics/bench/train_speed.json]

One run alternates A B A B … (one pair per seed): A = aelab's build_model + fit with the
variant's TrainParams, B = the plain loop below (its own copy of the architecture, no aelab
import). Both get the same data tensors, batch size, Adam lr, epochs, seed (weights start
equal, checked), randperm shuffling and RNG state, so a ratio away from 1 is overhead of the
project's loop. fit() evaluates the test set inside each epoch, so the plain loop does too
(under inference_mode) and "samples/s" is training samples per second of epoch wall time,
test-set evaluation included on both sides.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
CASES = {"fmnist_mlp_vae": "fmnist_mlp_vae_z2", "mnist_conv_vae": "mnist_conv_vae_z2"}
LOGVAR_RANGE = (-30.0, 20.0)  # the project's clamp (models/base.py); part of the model's math
NOTE = ("samples/s = training samples / epoch wall time; an epoch includes one test-set "
        "evaluation on both sides (aelab's fit() evaluates inside its epoch, so the plain loop "
        "does the same under torch.inference_mode); ratios are project/plain (< 1: project "
        "slower); best and median are over every epoch of every pair, after one untimed warm-up")


# --- B: the plain side. Only torch below this line until "A: the project side". ---

class PlainVAE(nn.Module):
    """encoder → (mu, logvar); z = mu + sigma·eps; decoder → logits; loss = mean over the
    batch of (BCE summed per image + beta·KL), as aelab's vae_output. Submodule names and
    indices match aelab's, so state_dicts are interchangeable."""

    def __init__(self, encoder: nn.Sequential, decoder: nn.Sequential, flatten: bool, beta: float):
        super().__init__()
        self.encoder, self.decoder, self.flatten, self.beta = encoder, decoder, flatten, beta

    def forward(self, x):  # x: (B, C, H, W) in [0, 1]
        h = self.encoder(x.flatten(1) if self.flatten else x)
        mu, logvar = h.chunk(2, dim=1)  # (B, latent) each
        logvar = logvar.clamp(*LOGVAR_RANGE)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decoder(z).reshape(x.shape)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)  # (B,) nats
        return (rec + self.beta * kl).mean()


def plain_mlp_vae(n_in: int, hidden: int, layers: int, latent: int, beta: float) -> PlainVAE:
    """Linear+ReLU stacks; PyTorch's default init, as aelab's MLP (it applies no other)."""
    def stack(sizes):
        mods = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            mods += [nn.Linear(a, b), nn.ReLU()]
        return nn.Sequential(*mods[:-1])  # last layer linear

    h = [hidden] * layers
    return PlainVAE(stack([n_in, *h, 2 * latent]), stack([latent, *h, n_in]), True, beta)


def plain_conv_vae(latent: int, beta: float) -> PlainVAE:
    """The Keras example net for 1×28×28 (32, 64 filters, Dense 16), Glorot init, zero bias."""
    enc = nn.Sequential(nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(64 * 7 * 7, 16), nn.ReLU(), nn.Linear(16, 2 * latent))
    dec = nn.Sequential(nn.Linear(latent, 64 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                        nn.ConvTranspose2d(64, 64, 3, 2, 1, output_padding=1), nn.ReLU(),  # 7 → 14
                        nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1), nn.ReLU(),  # 14 → 28
                        nn.ConvTranspose2d(32, 1, 3, 1, 1))  # logits
    model = PlainVAE(enc, dec, False, beta)
    for m in model.modules():  # same module order as aelab's glorot_init, so same RNG draws
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def _amp(device, bf16: bool):
    """bf16 autocast on the device when asked (what TrainParams.bf16 does), else nothing."""
    import contextlib

    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


@torch.inference_mode()
def plain_eval(model: PlainVAE, x: torch.Tensor, batch_size: int, device, bf16: bool = False) -> float:
    model.eval()
    total = torch.zeros((), device=device)
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device)
        with _amp(device, bf16):
            loss = model(xb)
        total += loss.float() * len(xb)
    return total.item() / len(x)


def plain_fit(model: PlainVAE, x_train, x_test, *, epochs: int, batch_size: int, lr: float,
              eval_batch_size: int, seed: int, device, bf16: bool = False) -> tuple[list[float], float]:
    """Per-epoch wall seconds (train + test evaluation) and the final test loss."""
    t0 = time.perf_counter()
    model.to(device)
    if torch.device(device).type == "cpu" and any(isinstance(m, nn.Conv2d) for m in model.modules()):
        # the layout train@ uses on a CPU, so both sides run the same kernels (same numerics)
        model.to(memory_format=torch.channels_last)
    x_train = x_train.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    stamps, test_loss = [], float("nan")
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen).to(device)
        for i in range(0, len(perm), batch_size):
            with _amp(device, bf16):
                loss = model(x_train[perm[i:i + batch_size]])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        test_loss = plain_eval(model, x_test, eval_batch_size, device, bf16)
        stamps.append(time.perf_counter())
    return _durations(t0, stamps), test_loss


def _durations(t0: float, stamps: list[float]) -> list[float]:
    return [b - a for a, b in zip([t0, *stamps[:-1]], stamps)]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- A: the project side, and the driver. ---

@dataclasses.dataclass
class Case:
    name: str
    variant: object  # aelab.core.params.Variant
    x_train: torch.Tensor  # (N, 1, 28, 28) float32 in [0, 1]
    x_test: torch.Tensor
    source: str


def mirror_check(v) -> None:
    """The plain loop mirrors only these settings; anything else would compare unlike work."""
    t, m = v.train, v.model_cfg
    if (t.optimizer, t.weight_decay, t.lr_schedule, t.grad_clip, t.shift_augment) != ("adam", 0.0, "constant", 0.0, 0):
        raise SystemExit(f"{v.name}: the plain loop mirrors Adam (bf16 or not), no weight decay/"
                         f"schedule/clip/augmentation; got {t}")
    if m.loss != "bce" or (v.model == "conv_vae" and (m.filters, m.convs_per_stage, m.dense) != ((32, 64), 1, 16)):
        raise SystemExit(f"{v.name}: plain_{v.model} copies the Keras/study net; update it for {m}")


def load_case(name: str, *, synthetic: bool = False, subset: int = 0, n_test: int = 512) -> Case:
    from aelab.data.contract import load_processed, to_model_input
    from aelab.core.params import load_params
    from aelab.core import paths

    v = load_params(ROOT / paths.PARAMS).variant(CASES[name])
    mirror_check(v)
    if synthetic:  # random binary images of the real shape: speed only, losses meaningless
        g = torch.Generator().manual_seed(0)
        n = subset or 2048
        x = (torch.rand(n + n_test, 1, 28, 28, generator=g) < 0.3).float()
        return Case(name, v, x[:n], x[n:], "synthetic random binary 1×28×28")
    path = ROOT / paths.processed(v.dataset)
    if not path.exists():
        raise SystemExit(f"error: {path} not found; run `dvc repro preprocess@{v.dataset}` first "
                         "(or pass --synthetic to time random data)")
    d = load_processed(path)
    x_tr = to_model_input(d.x_train, d.meta)
    return Case(name, v, x_tr[:subset] if subset else x_tr, to_model_input(d.x_test, d.meta),
                d.meta["source"])


def project_model(case: Case):
    from aelab.models import build_model

    return build_model(case.variant.model, case.variant.model_cfg, tuple(case.x_train.shape[1:]))


def plain_model(case: Case) -> PlainVAE:
    m = case.variant.model_cfg
    if case.variant.model == "mlp_vae":
        return plain_mlp_vae(case.x_train[0].numel(), m.hidden_size, m.layers, m.latent_dim, m.beta)
    return plain_conv_vae(m.latent_dim, m.beta)


def project_fit(model, case: Case, epochs: int, seed: int, device) -> tuple[list[float], float]:
    """aelab's fit() on the model as train@ trains it (conv weights channels-last on a CPU,
    aelab.core.runtime.cpu_layout; the plain loop does the same in one line); epoch
    ends are the on_epoch callback times (after its test evaluation)."""
    from aelab.core.runtime import cpu_layout
    from aelab.train import fit

    model = cpu_layout(model, device)
    cfg = dataclasses.replace(case.variant.train, epochs=epochs)
    stamps: list[float] = []
    t0 = time.perf_counter()
    result = fit(model, case.x_train, case.x_test, cfg, device, seed=seed, name=case.variant.name,
                 on_epoch=lambda epoch, row: stamps.append(time.perf_counter()))
    return _durations(t0, stamps), result.test["loss"]


def build_pair(case: Case, seed: int):
    """Both models from the same seed; returns them and the RNG state training starts from."""
    torch.manual_seed(seed)
    a = project_model(case)
    rng = torch.get_rng_state()
    torch.manual_seed(seed)
    b = plain_model(case)
    if n_params(a) != n_params(b):
        raise SystemExit(f"{case.name}: plain copy has {n_params(b):,} parameters, project {n_params(a):,}")
    sa, sb = a.state_dict(), b.state_dict()
    if sa.keys() != sb.keys() or not all(torch.equal(sa[k], sb[k]) for k in sa):
        raise SystemExit(f"{case.name}: plain copy does not start from the project's weights")
    return a, b, rng


def run_pair(case: Case, seed: int, epochs: int, device) -> dict:
    a, b, rng = build_pair(case, seed)
    t = case.variant.train
    out = {"params": n_params(a)}
    for side, model in (("project", a), ("plain", b)):  # A then B, same starting RNG state
        gc.collect()
        torch.set_rng_state(rng)
        if side == "project":
            secs, loss = project_fit(model, case, epochs, seed, device)
        else:
            secs, loss = plain_fit(model, case.x_train, case.x_test, epochs=epochs, batch_size=t.batch_size,
                                   lr=t.lr, eval_batch_size=t.eval_batch_size, seed=seed, device=device,
                                   bf16=t.bf16)
        out[side] = {"seed": seed, "epoch_seconds": [round(s, 4) for s in secs],
                     "samples_per_s": [round(len(case.x_train) / s, 1) for s in secs],
                     "test_loss": loss}
    return out


def summarize(case: Case, runs: list[dict], epochs: int) -> dict:
    t, v = case.variant.train, case.variant
    res = {"variant": v.name, "model": v.model, "data": case.source, "params": runs[0]["params"],
           "n_train": len(case.x_train), "n_test": len(case.x_test), "batch_size": t.batch_size,
           "lr": t.lr, "epochs": epochs, "pairs": len(runs), "loss_units": "nats/image"}
    for side in ("project", "plain"):
        sps = [s for r in runs for s in r[side]["samples_per_s"]]  # every epoch of every pair
        res[side] = {"best_samples_per_s": max(sps), "median_samples_per_s": statistics.median(sps),
                     "test_loss_mean": statistics.fmean(r[side]["test_loss"] for r in runs),
                     "runs": [r[side] for r in runs]}
    p, q = res["project"], res["plain"]
    res["ratio_best"] = round(p["best_samples_per_s"] / q["best_samples_per_s"], 4)
    res["ratio_median"] = round(p["median_samples_per_s"] / q["median_samples_per_s"], 4)
    res["test_loss_rel_diff"] = (p["test_loss_mean"] - q["test_loss_mean"]) / q["test_loss_mean"]
    return res


def warm_up(case: Case, device) -> None:
    """One untimed A and B epoch on 2–3 batches: the first run in a process pays one-off
    costs (kernel/oneDNN set-up, allocator growth) that measured ~1 s here, which would
    count against whichever side happens to go first."""
    t, n = case.variant.train, len(case.x_train)
    # the shapes the timed runs will meet: full and last partial batch, one eval batch
    tiny = dataclasses.replace(case, x_train=case.x_train[:2 * t.batch_size + n % t.batch_size],
                               x_test=case.x_test[:t.eval_batch_size])
    run_pair(tiny, 0, 1, device)


def bench_case(case: Case, pairs: int, epochs: int, base_seed: int, device) -> dict:
    warm_up(case, device)
    runs = [run_pair(case, base_seed + i, epochs, device) for i in range(pairs)]
    return summarize(case, runs, epochs)


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def report_text(name: str, r: dict) -> str:
    p, q = r["project"], r["plain"]
    rows = [f"{name}: {r['variant']} ({r['params']:,} parameters), {r['n_train']:,} train / "
            f"{r['n_test']:,} test, batch {r['batch_size']}, lr {r['lr']}, {r['epochs']} epochs × "
            f"{r['pairs']} pairs; data: {r['data']}",
            f"  {'':14}{'best samples/s':>16}{'median samples/s':>18}{'test loss (nats/image)':>24}"]
    for label, s in (("project fit()", p), ("plain loop", q)):
        rows.append(f"  {label:14}{s['best_samples_per_s']:>16,.0f}{s['median_samples_per_s']:>18,.0f}"
                    f"{s['test_loss_mean']:>24.3f}")
    rows.append(f"  {'project/plain':14}{r['ratio_best']:>16.3f}{r['ratio_median']:>18.3f}"
                f"{r['test_loss_rel_diff']:>+23.3%}")
    return "\n".join(rows)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", choices=[*CASES, "all"], default="all")
    ap.add_argument("--pairs", type=int, default=3, help="A/B pairs, one seed each (>= 3 for a real figure)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--subset", type=int, default=0, help="first N training samples (0 = all)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads, 0 = all cores (AELAB_THREADS overrides)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--synthetic", action="store_true", help="random binary images (development only)")
    ap.add_argument("--out", type=Path, default=ROOT / "metrics/bench/train_speed.json")
    args = ap.parse_args(argv)
    if args.pairs < 1 or args.epochs < 1 or args.subset < 0:
        ap.error("--pairs and --epochs must be >= 1, --subset >= 0")
    return args


def run(args: argparse.Namespace) -> dict:
    from aelab.core.params import load_params
    from aelab.core.runtime import thread_count

    torch.set_num_threads(thread_count(args.threads))
    device = torch.device(args.device)
    base_seed = load_params(ROOT / "params.yaml").seed
    names = list(CASES) if args.case == "all" else [args.case]
    cases = [load_case(n, synthetic=args.synthetic, subset=args.subset) for n in names]  # fail early
    load_before = os.getloadavg()
    results = {c.name: bench_case(c, args.pairs, args.epochs, base_seed, device) for c in cases}
    return {"benchmark": "train_speed", "note": NOTE,
            "settings": {"pairs": args.pairs, "epochs": args.epochs, "subset": args.subset,
                         "synthetic": args.synthetic, "device": str(device),
                         "seeds": [base_seed + i for i in range(args.pairs)]},
            "machine": machine(), "load": {"before": list(load_before), "after": list(os.getloadavg())},
            "cases": results}


def main(argv=None) -> None:
    from aelab.core.io import write_json

    args = parse_args(argv)
    out = run(args)
    print(NOTE)
    print(f"{out['machine']['platform']}, {out['machine']['cpu_count']} CPUs, torch "
          f"{out['machine']['torch']} with {out['machine']['torch_threads']} thread(s); load "
          f"{out['load']['before'][0]:.2f} before, {out['load']['after'][0]:.2f} after")
    for name, r in out["cases"].items():
        print(report_text(name, r))
    if args.pairs < 3:
        print(f"warning: only {args.pairs} pair(s); use --pairs 3 or more for a figure to quote", file=sys.stderr)
    write_json(args.out, out)  # atomic: temp file beside it, then os.replace
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
