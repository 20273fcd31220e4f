"""Measure test loss vs wall seconds for a variant under several training budgets.

    python scripts/budget_curve.py mnist_conv_vae_z2 --set batch_size=32 --set batch_size=32,bf16=true \
        --epochs 60 --out metrics/bench/budget_mnist_conv_vae_z2.json

Each --set is one run: train overrides applied to the variant's params (epochs = --epochs).
After every epoch the curve gets (epoch, cumulative wall seconds of training, test loss);
at the end kNN-5 on codes and a random forest (fit on training originals) on test
reconstructions, the two numbers the fidelity targets name. One process, sequential runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch


def _parse_set(text: str) -> dict:
    import yaml

    out = {}
    for part in filter(None, text.split(",")):
        k, v = part.split("=")
        out[k] = yaml.safe_load(v)  # 32 → int, 0.003 → float, true → bool, cosine → str
        if isinstance(out[k], str) and k in ("lr", "weight_decay"):
            out[k] = float(out[k])  # PyYAML reads 1e-3 as a string
    return out


def _probe(model, data, device) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    from aelab.data.contract import to_model_input
    from aelab.probe import batched

    x_tr, x_te = to_model_input(data.x_train, data.meta), to_model_input(data.x_test, data.meta)
    z_tr = batched(model.encode, x_tr, device).numpy()
    z_te = batched(model.encode, x_te, device).numpy()
    knn = KNeighborsClassifier(5).fit(z_tr, data.y_train).score(z_te, data.y_test)
    rf = RandomForestClassifier(200, random_state=0, n_jobs=-1).fit(x_tr.flatten(1).numpy(), data.y_train)
    r_te = batched(model.reconstruct, x_te, device).flatten(1).numpy()
    return {"knn5": float(knn), "rf_recon": float((rf.predict(r_te) == data.y_test).mean())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variant")
    ap.add_argument("--set", action="append", default=[], help="k=v,k=v train overrides (one run each)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from aelab.core import paths
    from aelab.data.contract import load_processed, to_model_input
    from aelab.core.io import write_json
    from aelab.models import build_model
    from aelab.core.params import load_params
    from aelab.core.runtime import configure_torch, seed_everything
    from aelab.train import fit

    params = load_params()
    v = params.variant(args.variant)
    device = configure_torch(params.runtime.threads, params.runtime.device)
    data = load_processed(paths.processed(v.dataset))
    x_tr, x_te = to_model_input(data.x_train, data.meta), to_model_input(data.x_test, data.meta)
    runs = []
    for text in args.set or [""]:
        over = {"epochs": args.epochs, **_parse_set(text)}
        cfg = dataclasses.replace(v.train, **over)
        seed_everything(args.seed)
        model = build_model(v.model, v.model_cfg, data.sample_shape)
        curve, t0 = [], [time.perf_counter()]

        def on_epoch(epoch, row, curve=curve, t0=t0):
            curve.append({"epoch": epoch, "seconds": round(time.perf_counter() - t0[0], 2),
                          "test_loss": round(row["test/loss"], 3), "train_loss": round(row["train/loss"], 3)})
            print(text or "default", curve[-1], flush=True)

        fit(model, x_tr, x_te, cfg, device, seed=args.seed, name=args.variant, on_epoch=on_epoch)
        model.eval()
        runs.append({"train": {k: (v2 if not isinstance(v2, float) else round(v2, 6))
                               for k, v2 in dataclasses.asdict(cfg).items()},
                     "curve": curve, **_probe(model, data, device)})
        print(text, runs[-1]["knn5"], runs[-1]["rf_recon"], flush=True)
        write_json(args.out, {"variant": args.variant, "threads": torch.get_num_threads(),
                              "load_before": list(np.round(__import__("os").getloadavg(), 2)), "runs": runs})


if __name__ == "__main__":
    main()
