"""The one training loop. Models compute their own loss; fit() only touches loss and logs.

In-memory data: each epoch slices a device tensor by a shuffled index (no per-sample
DataLoader); loss terms accumulate on the device and are read once per epoch (no
.item() per step). A NaN/inf term or an exploding loss stops training with
TrainingDiverged naming the epoch and batch (aelab.divergence).
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch
from tqdm.auto import tqdm

from .divergence import DivergenceGuard
from .core.errors import TrainingDiverged
from .models.base import Autoencoder
from .core.params import TrainParams

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    epochs: int
    seconds: float
    samples_per_s: float
    train: dict[str, float]  # final epoch's mean loss terms on the training set
    test: dict[str, float]  # the same terms on the test set (eval mode)
    history: list[dict[str, float]] = field(default_factory=list)
    # {phase: {"test_accuracy", "seconds", "test_loss"}} of a multi-phase own_fit (stacked AE)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)


def fused(params: list[torch.Tensor]) -> dict:
    """{'fused': True} where PyTorch has a fused (one-kernel) step for these tensors: on a
    2-core CPU Adam's per-tensor Python loop was 55% of a moons MLP step (1.75 → 1.15
    ms/step fused); on bigger models the gain is smaller but never a loss."""
    ok = params and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return {"fused": True} if ok else {}


def make_optimizer(params, cfg: TrainParams) -> torch.optim.Optimizer:
    params = list(params)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused(params))
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused(params))
    if cfg.optimizer == "rmsprop":  # no fused RMSprop in PyTorch
        return torch.optim.RMSprop(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                           **fused(params))


def make_schedule(opt, cfg: TrainParams):
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.lr_schedule == "step":
        marks = [max(1, cfg.epochs // 2), max(1, (3 * cfg.epochs) // 4)]
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones=marks, gamma=0.1)
    return None


def autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def random_shift(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """Each image of (B, C, H, W) moved by its own (dy, dx) ∈ [−k, k]², edge pixels
    replicated into the gap. One gather on the device; the shifts come from `gen` (CPU)."""
    b, _, h, w = x.shape
    d = torch.randint(-k, k + 1, (2, b), generator=gen).to(x.device)  # (2, B)
    pad = torch.nn.functional.pad(x, (k, k, k, k), mode="replicate")  # (B, C, H+2k, W+2k)
    rows = (torch.arange(h, device=x.device) + k - d[0][:, None])[:, :, None]  # (B, H, 1)
    cols = (torch.arange(w, device=x.device) + k - d[1][:, None])[:, None, :]  # (B, 1, W)
    out = pad[torch.arange(b, device=x.device)[:, None, None], :, rows, cols]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def _batches(n: int, bs: int, perm: torch.Tensor | None = None):
    for i in range(0, n, bs):
        yield perm[i:i + bs] if perm is not None else slice(i, i + bs)


@torch.inference_mode()
def evaluate_loss(model: Autoencoder, x: torch.Tensor, y: torch.Tensor | None, cfg: TrainParams,
                  device: torch.device) -> dict[str, float]:
    """Mean loss terms over a dataset in eval mode, batched; {'loss': …, <term>: …}."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for idx in _batches(len(x), cfg.eval_batch_size):
        xb = x[idx].to(device, non_blocking=True)
        yb = y[idx].to(device) if (y is not None and model.needs_labels) else None
        with autocast(device, cfg.bf16):
            out = model(xb, yb) if yb is not None else model(xb)
        accumulate(sums, out.loss, out.logs, len(xb))
    return {k: v.item() / len(x) for k, v in sums.items()}


def accumulate(sums: dict, loss: torch.Tensor, logs: dict, n: int) -> None:
    """Add a batch's loss terms, weighted by its size n, to on-device running sums."""
    for k, v in {"loss": loss.detach(), **logs}.items():
        v = v.detach().float() * n
        sums[k] = sums[k] + v if k in sums else v


def close_epoch(sums: dict, n: int, epoch: int, name: str, guard: DivergenceGuard,
                evaluate: Callable[[], dict], history: list, on_epoch) -> tuple[dict, dict]:
    """The end of an epoch, for fit() and for the models with their own loop: mean train
    terms (one device sync), divergence and finiteness checks, the test terms from
    evaluate(), one `train/…`, `test/…` history row passed to on_epoch. → (train, test)."""
    train_m = {k: v.item() / n for k, v in sums.items()}
    guard.end_epoch(epoch, train_m["loss"])  # names the first bad batch
    _check_finite(train_m, name, epoch, "train")
    test_m = evaluate()
    _check_finite(test_m, name, epoch, "test")
    row = {"epoch": epoch, **{f"train/{k}": v for k, v in train_m.items()},
           **{f"test/{k}": v for k, v in test_m.items()}}
    history.append(row)
    if on_epoch is not None:
        on_epoch(epoch, row)
    return train_m, test_m


def fit(model: Autoencoder, x_train: torch.Tensor, x_test: torch.Tensor, cfg: TrainParams,
        device: torch.device, *, y_train: torch.Tensor | None = None,
        y_test: torch.Tensor | None = None, seed: int = 0, name: str = "model",
        on_epoch: Callable[[int, dict], None] | None = None,
        params=None) -> FitResult:
    """Train `model` for cfg.epochs; on_epoch(epoch, metrics) e.g. logs to dvclive.

    `params` restricts optimisation to a subset (greedy layer-wise pretraining)."""
    model.to(device)
    x_train = x_train.to(device)
    y_train = y_train.to(device) if y_train is not None else None
    opt = make_optimizer(params if params is not None else model.parameters(), cfg)
    sched = make_schedule(opt, cfg)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    n, history = len(x_train), []
    start, train_m, test_m = time.perf_counter(), {}, {}
    guard = DivergenceGuard(name, cfg.diverge_factor, model.monotone_objective)
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {name}", unit="epoch", leave=False,
               disable=None)  # no bar when stderr is not a terminal; the log lines remain
    for epoch in bar:
        model.train()
        model.start_epoch(epoch)
        sums: dict[str, torch.Tensor] = {}
        perm = torch.randperm(n, generator=gen).to(device)
        for idx in _batches(n, cfg.batch_size, perm):
            xb = x_train[idx]
            if cfg.shift_augment and xb.dim() == 4:
                xb = random_shift(xb, cfg.shift_augment, gen)
            with autocast(device, cfg.bf16):
                out = model(xb, y_train[idx]) if model.needs_labels else model(xb)
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            accumulate(sums, out.loss, out.logs, len(xb))
            guard.add({"loss": out.loss.detach(), **out.logs})
        if sched is not None:
            sched.step()
        train_m, test_m = close_epoch(sums, n, epoch, name, guard,
                                      lambda: evaluate_loss(model, x_test, y_test, cfg, device),
                                      history, on_epoch)
        bar.set_postfix(loss=f"{train_m['loss']:.4g}", test=f"{test_m['loss']:.4g}")
        if epoch == 1 or epoch % max(1, cfg.epochs // 5) == 0:
            log.info("%s: epoch %d/%d train loss %.5g, test loss %.5g", name, epoch, cfg.epochs,
                     train_m["loss"], test_m["loss"])
    seconds = time.perf_counter() - start
    log.info("%s: %d epochs in %.1f s; train loss %.5g, test loss %.5g", name, cfg.epochs, seconds,
             train_m.get("loss", math.nan), test_m.get("loss", math.nan))
    return FitResult(cfg.epochs, seconds, n * cfg.epochs / max(seconds, 1e-9), train_m, test_m, history)


def _check_finite(metrics: dict[str, float], name: str, epoch: int, split: str) -> None:
    for k, v in metrics.items():
        if not math.isfinite(v):
            raise TrainingDiverged(f"train@{name}: epoch {epoch}: {split} loss term {k!r} is {v}; "
                                   "lower the learning rate or enable train.grad_clip")
