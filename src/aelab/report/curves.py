"""Training curves (loss per epoch, train vs test) drawn from the dvclive TSV files.

dvclive writes …/metrics/[<phase>/]<split>/<term>.tsv. A variant trained in phases (the
stacked AE's layer1…finetune, the GAN's adversarial then encoder phase) gets one panel per
(phase, term), so the phases' different objectives are never drawn on one axis.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.io import save_figure

MAX_COLS = 4


def curve_series(variant_dir: Path) -> dict[tuple[str, str], dict[str, pd.DataFrame]]:
    """{(phase, term): {split: frame with columns step, <term>}}; phase '' when unphased."""
    out: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    for tsv in sorted(variant_dir.rglob("*.tsv")):
        parts = tsv.relative_to(variant_dir).parts  # plots/metrics/[phase/]split/term.tsv
        inner = parts[parts.index("metrics") + 1:-1] if "metrics" in parts else parts[:-1]
        split = inner[-1] if inner else ""
        phase = "/".join(inner[:-1])
        out.setdefault((phase, tsv.stem), {})[split] = pd.read_csv(tsv, sep="\t")
    return out


SETTLE_TAIL = 0.1    # the last 10% of epochs (at least 3) …
SETTLE_LIMIT = 0.5   # … may span at most half the final value of the test reconstruction


def unsettled(train_plots: Path) -> list[list[str]]:
    """Health rows for variants whose final test reconstruction is a snapshot of a curve
    still swinging: (max − min) over the last SETTLE_TAIL of epochs above SETTLE_LIMIT × the
    final value. The reconstruction term (recon_*) of the main, unphased training is read, not
    the loss: an MMD² or KL term estimated from fresh draws each epoch swings by design, and
    GANs have no such term. Measured: the two-moons MMD AEs at a constant lr spanned 1.2–2.1×
    their final value (0.005–0.056 for one), 0.25 at most once annealed; every other variant
    stays under 0.13 (README, "A final epoch is a snapshot")."""
    rows = []
    for variant_dir in sorted(p for p in train_plots.glob("*") if p.is_dir()):
        series = curve_series(variant_dir)
        terms = sorted(t for (phase, t), by_split in series.items() if not phase and t.startswith("recon")
                       and "test" in by_split)
        if not terms:
            continue
        vals = series[("", terms[0])]["test"][terms[0]].to_numpy(dtype=float)  # (epochs,)
        tail = vals[-max(3, int(len(vals) * SETTLE_TAIL)):]
        final = abs(float(vals[-1]))
        if len(vals) >= 3 and final > 0 and tail.max() - tail.min() > SETTLE_LIMIT * final:
            rows.append([variant_dir.name, "train", "final epoch not settled",
                         f"test {terms[0]} {tail.min():.3g}–{tail.max():.3g} over the last {len(tail)} "
                         f"epochs, final {vals[-1]:.3g}: the reported number is one draw of that swing"])
    return rows


def draw_training_curves(train_plots: Path, out_dir: Path) -> dict[str, Path]:
    """One PNG per variant, one panel per (phase, term) with train and test; {variant: png}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, Path] = {}
    for variant_dir in sorted(p for p in train_plots.glob("*") if p.is_dir()):
        series = curve_series(variant_dir)
        if not series:
            continue
        keys = sorted(series, key=lambda k: (min(df["step"].min() for df in series[k].values()), k))
        cols = min(MAX_COLS, len(keys))
        rows = -(-len(keys) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False,
                                 layout="constrained")
        for ax, (phase, term) in zip(axes.flat, keys):
            for split, df in sorted(series[(phase, term)].items(), key=lambda kv: kv[0] != "train"):
                ax.plot(df["step"] + 1, df[term], label=split or term)
            ax.set(title=f"{phase}: {term}" if phase else term, xlabel="epoch")
            ax.legend(fontsize="small")
        for ax in list(axes.flat)[len(keys):]:
            ax.axis("off")
        fig.suptitle(variant_dir.name)
        png = out_dir / f"{variant_dir.name}.png"
        save_figure(fig, png)
        out[variant_dir.name] = png
    return out
