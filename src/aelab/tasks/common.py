"""What every task shares: the evaluation context, batched model calls, error measures,
the figure style and image-grid figures.

Tensors held by the context live on the CPU in model space: images (N, C, H, W) floats
in [0, 1], points (N, D) standardized. Model calls move one batch at a time to the device.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.runtime import cpu_layout
from ..data.contract import Processed, to_model_input
from ..models.base import Autoencoder
from .config import EvaluateParams


class TaskSkipped(Exception):
    """Raised by a task that finds, once running, that it cannot apply (e.g. no OOD data)."""


@dataclass
class Context:
    model: Autoencoder
    data: Processed
    params: EvaluateParams
    plots: Path  # plots/eval/<variant>/
    device: torch.device
    x_test: torch.Tensor  # (n_test, *shape), a fixed random subset of at most max_test
    y_test: np.ndarray  # (n_test,) int64, −1 = no label
    x_train: torch.Tensor  # (n_train, *shape), at most max_train
    y_train: np.ndarray
    ood: Processed | None = None  # anomaly task's OOD data (None: see ood_reason)
    ood_name: str | None = None
    ood_reason: str = "no OOD dataset configured"
    skipped: dict[str, str] = field(default_factory=dict)  # partial skips inside a task
    cache: dict[str, torch.Tensor] = field(default_factory=dict)  # codes, train-side images

    @property
    def meta(self) -> dict:
        return self.data.meta

    def seed(self, task: str) -> int:
        """A per-task seed, stable across runs and independent of which tasks ran."""
        return (self.params.seed * 1_000_003 + zlib.crc32(task.encode())) % (2**31)

    def generator(self, task: str) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed(task))

    def rng(self, task: str) -> np.random.Generator:
        return np.random.default_rng(self.seed(task))

    def skip(self, key: str, reason: str) -> None:
        self.skipped[key] = reason

    def figure(self, name: str) -> Path:
        return self.plots / f"{name}.png"


def corruption_inputs(ctx: Context, split: str = "test") -> torch.Tensor:
    """The images the corruption tasks (denoise, inpaint) use: all of x_test (split "test")
    or of train_side_inputs (split "train"), or their first max_optimized for a model whose
    encode() optimises z (each noise level and mask is another latent search over every
    image; those tasks report errors, not rates)."""
    x = ctx.x_test if split == "test" else train_side_inputs(ctx)
    if ctx.model.encode_by_optimization:
        return x[:ctx.params.max_optimized]
    return x


def train_side_inputs(ctx: Context) -> torch.Tensor:
    """The training images that denoise, inpaint and anomaly score next to their test
    images (evaluate.train_side): a seeded random subset of the whole training set as large
    as x_test (all of it when it holds fewer), drawn from its own stream, so it depends
    neither on max_train nor on which tasks ran. Computed once per context."""
    if "train_side" not in ctx.cache:
        idx = subset(len(ctx.data.x_train), len(ctx.x_test), ctx.rng("train_side"))
        ctx.cache["train_side"] = to_model_input(ctx.data.x_train[idx], ctx.data.meta)
    return ctx.cache["train_side"]


def train_and_gap(test: dict, train: dict, gaps=None) -> dict:
    """`<level>.train.<m>` (the train value) for each `<level>.<m>` in `train`, and, for
    each m in `gaps` (None: every m), `<level>.gap.<m>` = test − train (> 0: worse on
    unseen images), to sit next to the test key `<level>.<m>` — e.g. denoise's
    gauss_0.3.mse_recon → gauss_0.3.train.mse_recon, gauss_0.3.gap.mse_recon. A key
    without a level (`m`) gives `train.m` and `gap.m`."""
    out = {}
    for key, value in train.items():
        level, _, m = key.rpartition(".")
        at = f"{level}." if level else ""
        out[f"{at}train.{m}"] = value
        if gaps is None or m in gaps:
            out[f"{at}gap.{m}"] = test[key] - value
    return out


@contextmanager
def global_rng_kept(ctx: Context):
    """Run a block without moving the global torch random streams (CPU, and the context's
    CUDA device): work added after a task's test side (its train side) leaves the numbers
    of every later task that samples from the global stream as they were without it."""
    devices = [ctx.device.index or 0] if ctx.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


def subset(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a random subset of size min(n, cap) (cap 0 = all)."""
    if cap == 0 or cap >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def make_context(model: Autoencoder, data: Processed, params: EvaluateParams, plots: Path,
                 device: torch.device | str = "cpu", ood: Processed | None = None,
                 ood_name: str | None = None, ood_reason: str = "no OOD dataset configured") -> Context:
    """Model-space tensors of capped train/test subsets; the model moves to `device`."""
    set_style()
    device = torch.device(device)
    rng = np.random.default_rng(params.seed)
    cap_test, cap_train = params.max_test, params.max_train
    if model.encode_by_optimization:  # every encode() runs an optimisation: train set no larger than test
        cap_train = min(cap_train or cap_test, cap_test) if cap_test else cap_train
    te = subset(len(data.x_test), cap_test, rng)
    tr = subset(len(data.x_train), cap_train, rng)
    plots = Path(plots)
    plots.mkdir(parents=True, exist_ok=True)
    return Context(cpu_layout(model.to(device).eval(), device), data, params, plots, device,
                   to_model_input(data.x_test[te], data.meta), data.y_test[te],
                   to_model_input(data.x_train[tr], data.meta), data.y_train[tr],
                   ood, ood_name, ood_reason)


# ---- batched model calls (CPU tensors in, CPU float32 tensors out) ----

@torch.inference_mode()
def batched(ctx: Context, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    outs = [fn(x[i:i + ctx.params.batch_size].to(ctx.device)).float().cpu()
            for i in range(0, len(x), ctx.params.batch_size)]
    return torch.cat(outs) if outs else x.new_zeros((0,))


def encode(ctx: Context, x: torch.Tensor) -> torch.Tensor:
    return batched(ctx, ctx.model.encode, x)  # (N, latent)


@torch.inference_mode()
def prior_samples(ctx: Context, n: int, task: str) -> torch.Tensor:
    """(n, *shape) from model.sample — N(0, I) through the decoder, or the model's own
    sampler (an RBM's Gibbs chain). A CPU generator seeds it; on other devices the
    global stream is seeded instead (a CPU generator cannot drive CUDA sampling)."""
    if ctx.device.type == "cpu":
        return ctx.model.sample(n, generator=ctx.generator(task)).float().cpu()
    torch.manual_seed(ctx.seed(task))
    return ctx.model.sample(n).float().cpu()


def codes(ctx: Context, split: str) -> torch.Tensor:
    """Deterministic codes (N, latent) of the train or test subset, computed once."""
    if split not in ctx.cache:
        ctx.cache[split] = encode(ctx, ctx.x_train if split == "train" else ctx.x_test)
    return ctx.cache[split]


def decode(ctx: Context, z: torch.Tensor) -> torch.Tensor:
    return batched(ctx, ctx.model.decode, z)  # (N, *shape)


def reconstruct(ctx: Context, x: torch.Tensor, sample: bool = False) -> torch.Tensor:
    return batched(ctx, lambda b: ctx.model.reconstruct(b, sample=sample), x)


# ---- error measures, one value per sample ----

def mse_per_sample(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per pixel (or coordinate) of each sample (N,); with a 0/1 mask
    (N, *shape) the mean runs over the masked elements only."""
    se = (a - b).pow(2).flatten(1)
    if mask is None:
        return se.mean(1)
    m = mask.expand_as(a).flatten(1).float()
    return (se * m).sum(1) / m.sum(1).clamp_min(1.0)


def mean_mse(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared error over every element (MSE per pixel or coordinate), a float."""
    return float((a - b).pow(2).mean())


def bce_nats_per_image(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over pixels (N,), nats per image; outputs outside
    (0, 1) (linear decoders) are clamped so the value stays finite."""
    r = recon.clamp(1e-6, 1 - 1e-6)
    return F.binary_cross_entropy(r, x.clamp(0, 1), reduction="none").flatten(1).sum(1)


def variance_ratio(recon: torch.Tensor, x: torch.Tensor) -> float:
    """Variance across samples of the outputs over that of the inputs (each the mean over
    pixels/coordinates of the per-element variance across the N samples). ~1 for a good
    reconstruction, ~0 when every input gets (nearly) the same output: output collapse."""
    v_out = recon.double().flatten(1).var(0, correction=0).mean()
    v_in = x.double().flatten(1).var(0, correction=0).mean()
    return float(v_out / v_in.clamp_min(1e-12))


def mean(t: torch.Tensor) -> float:
    return float(t.double().mean())


# ---- figures ----

_STYLE_SET = False


def set_style() -> None:
    """One look for every figure: Agg backend (no display), seaborn whitegrid theme."""
    global _STYLE_SET
    if _STYLE_SET:
        return
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette="tab10")
    _STYLE_SET = True


def save(ctx: Context, fig, name: str) -> None:
    from ..core.io import save_figure

    save_figure(fig, ctx.figure(name))


def to_display(x: torch.Tensor) -> torch.Tensor:
    """Model-space images → [0, 1] for display (N, C, H, W)."""
    return x.detach().float().clamp(0, 1)


def image_rows_figure(rows: list[torch.Tensor], labels: list[str], title: str,
                      col_labels: list[str] | None = None, scale: float = 1.0):
    """One row of images per tensor (each (n, C, H, W), same n), row labels on the left.

    make_grid pads with white; labels sit at the row centres as y tick labels."""
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    n = rows[0].shape[0]
    stack = torch.cat([to_display(r) for r in rows])  # (rows·n, C, H, W)
    pad = 2
    grid = make_grid(stack, nrow=n, padding=pad, pad_value=1.0)  # (3, H', W')
    h, w = rows[0].shape[-2:]
    fig_w = max(4.0, min(16.0, 1.0 + 0.9 * n * scale))
    fig, ax = plt.subplots(figsize=(fig_w, fig_w * grid.shape[1] / grid.shape[2] + 0.6))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.grid(False)
    ax.set_yticks([pad + i * (h + pad) + h / 2 for i in range(len(rows))], labels)
    if col_labels:
        ax.set_xticks([pad + j * (w + pad) + w / 2 for j in range(n)], col_labels, fontsize=8)
    else:
        ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title)
    return fig
