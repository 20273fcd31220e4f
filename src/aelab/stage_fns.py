"""The work behind the download/preprocess/train stages, as functions a test can call.

Each writes only its declared outputs (see paths.py), atomically; a failure or a kill leaves
the previous ones as they were.
"""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path

from .core import paths
from .data.contract import SOURCE_FILE, load_processed, save_processed, to_model_input
from .data.registry import get_dataset
from .core.io import staged_outputs, write_json
from .core.params import Params
from .core.timing import TIMING_KEY

log = logging.getLogger("aelab")


def download(params: Params, name: str) -> Path:
    """Fill data/raw/<name>/ from the first source that serves; SOURCE.json says which."""
    spec, cfg = get_dataset(name), params.dataset_cfg(name)
    out = paths.raw_dir(name)
    # filled under a hidden temp name and swapped in whole at the end (aelab.core.io): a failure or
    # a kill at any point leaves the previous raw folder as it was
    with staged_outputs(out) as (tmp,):
        tmp.mkdir(parents=True)
        source = spec.download(cfg, tmp)
        write_json(tmp / SOURCE_FILE, source)
    log.info("download@%s: served by %s", name, source["source"])
    return out


def preprocess(params: Params, name: str) -> Path:
    """Write data/processed/<name>.npz and its preview figure plots/preprocess/<name>.png."""
    from .data.preview import write_preview

    spec, cfg, raw = get_dataset(name), params.dataset_cfg(name), paths.raw_dir(name)
    processed = spec.preprocess(cfg, raw)
    pp = params.preprocess
    # both go to hidden temp paths, swapped in together at the end (npz last, aelab.core.io); the
    # preview only reads `processed`, so the npz is the same with or without it
    with staged_outputs(paths.preprocess_preview(name), paths.processed(name)) as (png, npz):
        t0 = time.perf_counter()
        shown = write_preview(png, spec.preview, cfg, raw, processed, pp.preview_examples, pp.preview_seed)
        log.info("preprocess@%s: preview of %d examples (%.1f s) → %s", name, shown,
                 time.perf_counter() - t0, paths.preprocess_preview(name))
        save_processed(npz, processed)
    m = processed.meta
    log.info("preprocess@%s: %d train / %d test, shape %s, source: %s, skipped: %s", name,
             len(processed.x_train), len(processed.x_test), m["shape"], m["source"], m["skipped"] or "none")
    return paths.processed(name)


def ood(params: Params, name: str) -> Path:
    """Write data/ood/<name>.npz: the test split of the dataset ood.<name> names,
    which evaluate@ of every variant on `name` scores for the anomaly task, or why there is
    none. evaluate@ depends on this file, so only a change to that dataset reruns it."""
    from .data.contract import save_ood_set
    from .tasks import ood_choice

    ood_name, reason = ood_choice(params, name)
    ood = load_processed(paths.processed(ood_name)) if ood_name else None
    save_ood_set(paths.ood_set(name), ood, ood_name, reason)
    log.info("ood@%s: %s", name, f"{len(ood.x_test)} test images of {ood_name}" if ood else reason)
    return paths.ood_set(name)


def train(params: Params, name: str) -> dict:
    """Train variant `name`; write models/<name>.pt, metrics/train/<name>.json, dvclive curves."""
    import torch
    from dvclive import Live

    from .checkpoint import save_checkpoint
    from .models import build_model
    from .core.runtime import configure_torch, cpu_layout, seed_everything
    from .train import fit

    v = params.variant(name)
    device = configure_torch(params.runtime.threads, params.runtime.device)
    seed_everything(params.seed)
    data = load_processed(paths.processed(v.dataset))
    x_tr, x_te = to_model_input(data.x_train, data.meta), to_model_input(data.x_test, data.meta)
    y_tr, y_te = torch.from_numpy(data.y_train), torch.from_numpy(data.y_test)
    model = cpu_layout(build_model(v.model, v.model_cfg, data.sample_shape), device)
    log.info("train@%s: %s on %s (%d train samples), %s parameters", name, v.model, v.dataset,
             len(x_tr), f"{model.n_params:,}")
    # the curves, model and metrics go to hidden temp paths, swapped in together at the end
    # (metrics last): a kill at any point leaves the old set or the new one (aelab.core.io)
    outs = paths.train_plots(name), paths.model_file(name), paths.train_metrics(name)
    with staged_outputs(*outs) as (plots_dir, model_file, metrics_file):
        with Live(dir=str(plots_dir), dvcyaml=None, save_dvc_exp=False, report=None) as live:
            def on_epoch(epoch: int, row: dict) -> None:
                for key, value in row.items():
                    if key != "epoch":
                        live.log_metric(key, value, plot=True, timestamp=False)
                live.next_step()

            # the GAN's two players and the stacked AE's phases train by their own procedure
            run = model.own_fit if model.has_own_fit else (lambda **kw: fit(model, **kw))
            result = run(x_train=x_tr, x_test=x_te, cfg=v.train, device=device, y_train=y_tr,
                         y_test=y_te, seed=params.seed, name=name, on_epoch=on_epoch)
        (plots_dir / "metrics.json").unlink(missing_ok=True)  # dvclive's copy of metrics/train/<v>.json
        model.to(memory_format=torch.contiguous_format)  # the checkpoint keeps NCHW weights
        save_checkpoint(model_file, model, model_name=v.model, variant=name,
                        dataset=v.dataset, extra={"data_meta": data.meta})
        metrics = {**train_metrics(v, model, result, device),
                   "data_source": data.meta.get("source", v.dataset)}  # which source served it (report)
        write_json(metrics_file, metrics)
    phase_s = {k: p.get("seconds") for k, p in result.phases.items()}
    return {**metrics, TIMING_KEY: {"fit_s": result.seconds, "samples_per_s": result.samples_per_s,
                                    **({"phases_s": phase_s} if phase_s else {})}}


def train_metrics(v, model, result, device) -> dict:
    return {
        "variant": v.name, "model": v.model, "dataset": v.dataset,
        "params": model.n_params, "epochs": result.epochs,
        "loss_units": model.loss_units,
        "train": {k: round(x, 6) for k, x in result.train.items()},
        "test": {k: round(x, 6) for k, x in result.test.items()},
        # the divergence health check compares the final training loss with this
        **({"first_epoch": {"train_loss": round(result.history[0]["train/loss"], 6)}}
           if result.history and "train/loss" in result.history[0] else {}),
        # phase timings go to the timing file (aelab.core.timing), not the results
        **({"phases": {k: {kk: vv for kk, vv in p.items() if kk != "seconds"}
                       for k, p in result.phases.items()}} if result.phases else {}),
        "device": str(device), "machine": platform.machine(),
    }
