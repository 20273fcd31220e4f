"""Figures of study_rbm (numbers come from rbm.analyse, as an RBMStudyResult)."""

from __future__ import annotations

import math

import torch

from .rbm import RBMStudyResult


def grid_figure(r: RBMStudyResult):
    """Pseudo-likelihood per pass of every grid cell: test solid, train dashed, one colour per cell."""
    import matplotlib.pyplot as plt

    s = r.grid_setting
    fig, ax = plt.subplots(figsize=(8.5, 5.2), layout="constrained")
    for i, c in enumerate(r.grid):
        colour = f"C{i % 10}"
        passes = range(1, len(c.test_pll) + 1)
        ax.plot(passes, c.test_pll, "-", color=colour, label=f"lr {c.lr:g}, {c.hidden} hidden: "
                f"test {c.test_pll[-1]:.1f}")
        ax.plot(passes, c.train_pll, "--", color=colour, alpha=0.8)
    ax.plot([], [], "k-", label="test (after the pass)")
    ax.plot([], [], "k--", label="train (mean during the pass)")
    how = ("constant lr, so pass k reads as a k-pass run" if s["lr_schedule"] == "constant"
           else f"{s['lr_schedule']} lr over {s['epochs']} passes: pass k is not a k-pass run")
    ax.set(xlabel="pass over the training subset", ylabel="pseudo-likelihood (nats per image)",
           title=f"RBM grid: every pass count 1–{s['epochs']} of one run per cell ({how})\n"
                 f"{s['n_train']} training / {s['n_test']} test digits, batch {s['batch_size']}, "
                 f"{s['optimizer']} momentum {s['momentum']:g}, "
                 f"{'PCD' if s['pcd'] else 'CD'}-{s['cd_k']}, binarize {s['binarize']}")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=8)
    return fig


def gibbs_figure(r: RBMStudyResult):
    """One row per test digit: the original, then the chain's p(v | h) after k sweeps; with a
    DBM a second block of rows (the same digits, its p(v | h1))."""
    from ..tasks.common import image_rows_figure

    blocks = [("RBM", r.gibbs)] + ([("DBM", r.dbm.gibbs)] if r.dbm is not None else [])
    rows = [row for _, g in blocks for row in torch.as_tensor(g.show)]  # each (1 + K, C, H, W)
    labels = [f"{who if r.dbm is not None else ''} digit {int(y)}".strip() for who, g in blocks for y in g.show_labels]
    cols = ["original"] + [f"{k} step{'s' if k > 1 else ''}" + "".join(
        f"\n{who + ' ' if r.dbm is not None else ''}MSE {g.mse[i]:.3f}, RF {g.same_class[i]['same_class']:.0%}"
        for who, g in blocks) for i, k in enumerate(r.gibbs.steps)]
    names = r.variant if r.dbm is None else f"{r.variant} rows above, {r.dbm.variant} below"
    return image_rows_figure(rows, labels,
                             f"Gibbs chain from test digits ({names}): mean-field p(v | h) after k "
                             f"steps\n(MSE to the original and share the forest still labels as the "
                             f"digit's class, n = {r.gibbs.same_class[0]['same_class_n']})",
                             col_labels=cols, scale=1.6)


def inpaint_figure(r: RBMStudyResult, dbm: bool = False):
    """Rows: digit with the hole (mid-grey), the clamped chain's state, the merge;
    columns: a few digits per region, one rows setting. dbm: the DBM's chain instead."""
    from ..tasks.common import image_rows_figure

    cells = [c for c in (r.dbm.inpaint if dbm else r.inpaint) if c.show is not None]
    rows = [torch.cat([torch.as_tensor(c.show[i]) for c in cells]) for i in range(3)]  # 3 × (regions·n, C, H, W)
    n = cells[0].show.shape[1]
    cols = [f"{c.region}\nRF {c.rf_merged['rf_correct_merged']:.0%}" if j == 0 else ""
            for c in cells for j in range(n)]
    return image_rows_figure(rows, ["with hole", "chain state", "merged"],
                             f"Inpainting by a clamped Gibbs chain ({r.dbm.variant if dbm else r.variant}): "
                             f"{cells[0].rows} rows/columns removed; RF = forest accuracy on the merged images",
                             col_labels=cols)


def components_figure(r: RBMStudyResult):
    """Every hidden unit's weight vector as an image, each contrast-normalised on its own."""
    return _unit_images(r.weights, f"{r.variant}: the {len(r.weights)} hidden units' weights (columns of W), "
                                   "each scaled to its own min–max")


def dbm_layers_figure(r: RBMStudyResult, layer: int):
    """The DBM's layer-1 weights (columns of W1) or layer-2 units projected to pixels (columns
    of W1 W2) as images, each contrast-normalised on its own."""
    d = r.dbm
    if layer == 1:
        return _unit_images(d.layer1, f"{d.variant}: the {len(d.layer1)} layer-1 units' weights (columns of W1), "
                                      "each scaled to its own min–max")
    return _unit_images(d.layer2, f"{d.variant}: the {len(d.layer2)} layer-2 units projected to pixels "
                                  "(columns of W1 W2), each scaled to its own min–max")


def _unit_images(w, title: str):
    """w (units, C, H, W) on a square grid."""
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    w = torch.as_tensor(w)  # (units, C, H, W)
    nrow = math.ceil(math.sqrt(len(w)))
    grid = make_grid(w, nrow=nrow, padding=1, normalize=True, scale_each=True, pad_value=1.0)  # (3, H', W')
    fig, ax = plt.subplots(figsize=(9, 9 * grid.shape[1] / grid.shape[2] + 0.5))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def samples_figure(r: RBMStudyResult):
    """Columns: a few test digits; rows: the original, RBM and DBM after one Gibbs sweep from
    it, then (other columns' worth) samples from noise of each model."""
    from ..tasks.common import image_rows_figure

    d = r.dbm
    n = min(len(d.one_step), *(len(s.show) for s in d.samples.values()))
    pair = torch.as_tensor(d.one_step[:n])  # (n, 3, C, H, W)
    noise = [torch.as_tensor(d.samples[w].show[:n]) for w in ("rbm", "dbm")]  # 2 × (n, C, H, W)
    rows = [pair[:, 0], pair[:, 1], pair[:, 2], *noise]  # 5 × (n, C, H, W)
    labels = ["original", "RBM, 1 step", "DBM, 1 step"] + [
        f"{w.upper()} from noise\ntop {d.samples[w].top_class}: "
        f"{d.samples[w].top_class_share['top_class_share']:.0%}\nnearest {d.samples[w].nearest_mse:.3f}"
        for w in ("rbm", "dbm")]
    return image_rows_figure(rows, labels,
                             f"{r.variant} vs {d.variant}: p(v | h) one Gibbs sweep from the same test digits, "
                             f"and samples from noise\n(top = the forest's most frequent class; nearest = MSE per "
                             f"pixel to the closest training digit, test digits {d.nearest_mse_test:.3f})",
                             col_labels=[f"digit {int(y)} / sample {j + 1}" for j, y in enumerate(d.one_step_labels[:n])],
                             scale=1.6)
