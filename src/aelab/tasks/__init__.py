"""TASKS registry: name → Task. evaluate@<variant> runs every task that applies.

    ok, why = TASKS["anomaly"].applies(model, data)   # (bool, reason when not)
    metrics = TASKS["anomaly"].run(ctx)               # flat dict, keys without the task prefix

Importing this package stays light (params.py imports tasks.config through it): each
task's module, with torch/sklearn/matplotlib, is imported when the task first runs.
The driver is tasks.runner.evaluate_variant; ood_dataset_for tells the pipeline which
processed dataset the anomaly task of a variant reads.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Task:
    name: str
    target: str  # "module:function" under aelab.tasks, called with a common.Context
    applies: Callable  # (model, data: Processed) -> (bool, reason)
    doc: str

    def run(self, ctx) -> dict:
        module, fn = self.target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), fn)(ctx)


def needs(kind: str | None = None, encoder: bool = False, sampler: bool = False,
          extras: bool = False, amortized: bool = False) -> Callable:
    """An applies(model, data) check from requirements; the reason names the first unmet one.

    amortized: the encoder must be a network, not a per-image optimisation of z (a GAN's
    encode()), which is deterministic and costs encode_steps generator passes per image."""

    def applies(model, data) -> tuple[bool, str]:
        name = type(model).__name__
        if kind and data.kind != kind:
            return False, f"needs {kind} data; {data.meta.get('name', '?')} holds {data.kind}"
        if encoder and not model.has_encoder:
            return False, f"{name} has no encoder"
        if amortized and model.encode_by_optimization:
            return False, (f"{name}.encode() optimises z per image (deterministic, so the "
                           "spread is 0 by construction, and slow)")
        if sampler and not (model.has_prior or model.has_encoder):
            return False, f"{name} has neither a prior nor an encoder to fit a code sampler to"
        if extras and not any(k.startswith("x_") for k in data.extras):
            return False, "the processed dataset has no extra held-out test sets"
        return True, ""

    return applies


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("reconstruct", "recon:run_reconstruct", needs("image", encoder=True),
         "test/train MSE per pixel, BCE nats per image, PSNR, SSIM, train−test gap"),
    Task("denoise", "corrupt:run_denoise", needs("image", encoder=True),
         "Gaussian and salt-and-pepper noise: MSE of noisy input vs reconstruction"),
    Task("inpaint", "corrupt:run_inpaint", needs("image", encoder=True),
         "square holes and top rows removed: MSE inside the hole vs a mean-fill baseline"),
    Task("anomaly", "anomaly:run_anomaly", needs("image", encoder=True),
         "reconstruction error as OOD score: AUROC against another dataset"),
    Task("generate", "generative:run_generate", needs("image", sampler=True),
         "samples from the prior or a GMM fitted to training codes; 2-D latent grid"),
    Task("interpolate", "generative:run_interpolate", needs("image", sampler=True),
         "decoded straight lines between two codes"),
    Task("latent", "latent:run_latent", needs(encoder=True),
         "codes by label (scatter/histogram/PCA), silhouette, kNN accuracy"),
    Task("consistency", "recon:run_consistency", needs(encoder=True, amortized=True),
         "per-pixel std across K sampled reconstructions of the same inputs"),
    Task("points_reconstruct", "points:run_points_reconstruct", needs("points", encoder=True),
         "reconstructed vs original points, MSE per coordinate"),
    Task("points_generate", "points:run_points_generate", needs("points", encoder=True),
         "points sampled through the decoder: MMD² and Chamfer distance to test points"),
    Task("points_heldout", "points:run_points_heldout", needs("points", encoder=True, extras=True),
         "reconstruction MSE on every extra held-out test set (no retraining)"),
]}


def ood_choice(params, dataset: str) -> tuple[str | None, str]:
    """(OOD dataset for the anomaly task of `dataset`, or None and the reason)."""
    ood = params.ood.get(dataset)
    if ood is None:
        return None, f"ood names no OOD dataset for {dataset!r}"
    if ood not in params.datasets:
        return None, f"OOD dataset {ood!r} (ood.{dataset}) is not enabled in `datasets`"
    return ood, ""


def ood_dataset_for(params, dataset: str) -> str | None:
    """The dataset whose data/processed/<name>.npz evaluate@ reads for `dataset`, if any."""
    return ood_choice(params, dataset)[0]


def evaluate_variant(params, name: str) -> dict:
    from .runner import evaluate_variant as run

    return run(params, name)


__all__ = ["TASKS", "Task", "needs", "ood_choice", "ood_dataset_for", "evaluate_variant"]
