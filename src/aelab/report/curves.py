"""Training curves (loss per epoch, train vs test) drawn from the dvclive TSV files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io import save_figure


def draw_training_curves(train_plots: Path, out_dir: Path) -> dict[str, Path]:
    """One PNG per variant with every logged term; returns {variant: png}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, Path] = {}
    for variant_dir in sorted(p for p in train_plots.glob("*") if p.is_dir()):
        tsvs = sorted(variant_dir.rglob("*.tsv"))
        series = {}
        for tsv in tsvs:
            split, term = tsv.parent.name, tsv.stem  # …/metrics/<split>/<term>.tsv
            series[f"{split}/{term}"] = pd.read_csv(tsv, sep="\t")
        terms = sorted({k.split("/", 1)[1] for k in series})
        if not terms:
            continue
        fig, axes = plt.subplots(1, len(terms), figsize=(4 * len(terms), 3), squeeze=False)
        for ax, term in zip(axes[0], terms):
            for split in ("train", "test"):
                df = series.get(f"{split}/{term}")
                if df is not None:
                    ax.plot(df["step"] + 1, df[term], label=split)
            ax.set(title=term, xlabel="epoch", ylabel=term)
            ax.legend()
        fig.suptitle(variant_dir.name)
        png = out_dir / f"{variant_dir.name}.png"
        save_figure(fig, png)
        out[variant_dir.name] = png
    return out
