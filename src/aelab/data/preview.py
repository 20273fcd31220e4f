"""plots/preprocess/<dataset>.png: what preprocessing did, for a user to see at a glance.

Images: top row, a few originals as data/raw stores them (their own size, mode and value
range), read by the dataset's own loaders; bottom row, the same items as the models see
them (the npz row through model_input, floats in [0, 1]). Each dataset's `preview`
(registry.py) turns seeded picks of raw items into Examples by running them through the
code its preprocess uses; the bottom row then shows the npz's own row equal to that result,
so a preview whose transform drifted from the stored data drops the example with a warning
(and a test fails) instead of showing pixels no model saw. Points: a scatter of the raw
training points beside their standardized version.

Nothing here changes the Processed it is given.
"""

from __future__ import annotations

import logging
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .contract import Processed, model_input

log = logging.getLogger(__name__)

TRIES_PER_EXAMPLE = 4  # raw items tried per example wanted (some are skipped as unusable)
MAX_POINTS = 2000  # points scattered per panel
AXES_IN = 1.1  # inches per image cell


@dataclass(frozen=True)
class Example:
    raw: np.ndarray  # as stored: (H, W) gray or (H, W, 3|4) RGB(A) uint8, its own size
    processed: np.ndarray  # (C, S, S) uint8: the same item through the preprocess code
    note: str = ""  # title above the raw image; default "W×H"


@dataclass(frozen=True)
class RawPreview:
    examples: list[Example]
    what: str  # how data/raw holds the items, e.g. "IDX file, uint8 0–255"
    vmax: int = 255  # raw gray value drawn white (sklearn digits: 16)


def pick(n_items: int, n: int, rng: np.random.Generator, make: Callable[[int], Example | None],
         what: str, vmax: int = 255) -> RawPreview:
    """Seeded choice of up to n items among n_items: make(i) → Example, or None for an item
    the preprocess code skips too (broken file, empty glyph); the next pick replaces it."""
    out = []
    for i in rng.permutation(n_items)[: n * TRIES_PER_EXAMPLE]:
        ex = make(int(i))
        if ex is not None:
            out.append(ex)
            if len(out) == n:
                break
    return RawPreview(out, what, vmax)


def _rows(x: np.ndarray) -> np.ndarray:
    """(N, ...) uint8 → (N,) opaque byte strings: one memcmp per row in comparisons."""
    flat = np.ascontiguousarray(x).reshape(len(x), -1)
    return flat.view(f"V{flat.shape[1]}").ravel()


def stored_row(item: np.ndarray, p: Processed) -> tuple[np.ndarray, int] | None:
    """(the npz row equal to `item` (C, H, W), its label), searching test, train, extras."""
    arrays = [(p.x_test, p.y_test), (p.x_train, p.y_train)]
    arrays += [(v, p.extras["y_" + k[2:]]) for k, v in p.extras.items() if k.startswith("x_")]
    key = _rows(item[None])[0]
    for x, y in arrays:
        if x.shape[1:] == item.shape and x.dtype == item.dtype:
            hit = np.flatnonzero(_rows(x) == key)
            if hit.size:
                return x[hit[0]], int(y[hit[0]])
    return None


def write_preview(path: str | Path, preview: Callable | None, cfg, raw_dir: Path, p: Processed,
                  n: int, seed: int) -> int:
    """Draw the preview of dataset `p` to `path` (save_figure: atomic, no metadata);
    returns how many examples it shows (points: how many are scattered)."""
    from ..core.io import save_figure

    rng = np.random.default_rng(seed)
    if p.kind == "points":
        fig, shown = points_figure(p, rng)
    else:
        raw = preview(cfg, raw_dir, n, rng)
        pairs = []
        for j, ex in enumerate(raw.examples):
            found = stored_row(ex.processed, p)
            if found is None:  # a bug: the preview's transform is not the stored one
                log.warning("preview of %s: example %d is in no split of the npz; left out",
                            p.meta["name"], j)
                continue
            pairs.append((ex, *found))
        if len(pairs) < n:
            log.warning("preview of %s shows %d of %d examples", p.meta["name"], len(pairs), n)
        fig, shown = images_figure(pairs, raw, p.meta), len(pairs)
    save_figure(fig, path)
    return shown


def _processed_label(meta: dict) -> str:
    c, h, w = meta["shape"]
    values = "binary {0, 1}" if meta.get("binarized") else "float [0, 1]"
    return f"processed\n{w}×{h} {'gray' if c == 1 else 'RGB'}\n{values}"


def images_figure(pairs: list[tuple[Example, np.ndarray, int]], raw: RawPreview, meta: dict):
    """Two rows × len(pairs) columns; raw titles give each original's size."""
    import matplotlib.pyplot as plt

    k = max(len(pairs), 1)
    fig, axes = plt.subplots(2, k, figsize=figure_inches(k), squeeze=False)
    names = meta.get("class_names") or []
    for j, (ex, row, label) in enumerate(pairs):
        top, bottom = axes[0, j], axes[1, j]
        gray = ex.raw.ndim == 2
        top.imshow(ex.raw, cmap="gray" if gray else None, vmin=0, vmax=raw.vmax if gray else None,
                   interpolation="nearest")
        top.set_title(ex.note or "{1}×{0}".format(*ex.raw.shape[:2]), fontsize=7)
        x = model_input(row[None], meta)[0]  # (C, H, W) float in [0, 1]
        bottom.imshow(x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
        if 0 <= label < len(names):
            bottom.set_xlabel(textwrap.fill(names[label], 16), fontsize=6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel(f"raw\n{raw.what}", fontsize=7)
    axes[1, 0].set_ylabel(_processed_label(meta), fontsize=7)
    fig.suptitle(_title(meta, figure_inches(k)[0]), fontsize=8)
    return fig


def _title(meta: dict, width_in: float) -> str:
    """At most two lines as wide as the figure (a long source path would widen the PNG)."""
    return textwrap.fill(f"preprocess@{meta['name']}: {meta['source']}", int(width_in * 13),
                         max_lines=2, placeholder=" …")


def figure_inches(k: int) -> tuple[float, float]:
    """Figure size for k columns (save_figure trims the margins: the PNG is at most this × dpi)."""
    return (AXES_IN * k + 1.0, 2 * AXES_IN + 1.0)


def points_figure(p: Processed, rng: np.random.Generator):
    """Raw training points (as generated) beside the standardized ones the models see."""
    import matplotlib.pyplot as plt

    x, y = p.x_train, p.y_train
    if len(x) > MAX_POINTS:
        keep = np.sort(rng.choice(len(x), MAX_POINTS, replace=False))
        x, y = x[keep], y[keep]
    z = model_input(x, p.meta)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.2))
    for ax, pts, title in ((axes[0], x, f"raw x_train ({len(x)} points)"),
                           (axes[1], z, "processed: standardized (train mean/std)")):
        ax.scatter(pts[:, 0], pts[:, 1], c=y, s=3, cmap="coolwarm")
        ax.set_title(title, fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    fig.suptitle(_title(p.meta, 7.0), fontsize=8)
    return fig, len(x)
