"""The findings page (report/index.html + report/README.md) from what the stages wrote.

Nothing here computes a result: every sentence is phrased (report.text) from numbers in
metrics/**/*.json, one section per study question (report.mnist, .questions, .studies, .moons, …);
figures are copied from plots/ into report/figures/ so the folder works offline anywhere.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..core import paths
from ..core.io import write_text
from . import backbones, energy, mnist, moons, photo_samples, questions, studies
from .curves import draw_training_curves, unsettled
from .gather import Run, load_run, summary
from .render import Appendix, render
from .tables import HEALTH_INTRO, flatten, health_table, phase_table, train_table

log = logging.getLogger("aelab")

# Section builders in page order; each returns a Section (empty ones are left out).
SECTIONS = (mnist.mnist_study, questions.latent_size, questions.train_vs_test, questions.residual,
            mnist.inpainting, mnist.denoising, mnist.anomaly, mnist.generation, studies.ae_vs_vae,
            studies.vae_vs_gan, backbones.gan_backbones, energy.rbm_dbm, studies.optuna, moons.moons,
            moons.mmd, studies.digits, studies.forest_table, studies.photos, photo_samples.photo_samples)
PREVIEW_CAPTION = "raw originals above what the models see"


def build_report(params, _name=None, root: str | Path = ".") -> Path:
    """report/index.html + report/README.md (+ figures/, curves/) from metrics/ and plots/."""
    root = Path(root)
    out = root / paths.report_dir()
    out.mkdir(parents=True, exist_ok=True)
    run = load_run(params, root)
    train_plots = root / paths.train_plots("any").parent  # plots/train/<variant>/…
    curves = draw_training_curves(train_plots, out / "curves")
    sections = [build(run) for build in SECTIONS]
    page, md = render(params.report.title, summary(run),
                      health_table({"eval": run.eval, "rf": run.rf}, unsettled(train_plots)),
                      HEALTH_INTRO, sections,
                      _appendix(run, curves), out, root, _previews(run))
    write_text(out / "README.md", md)
    write_text(out / "index.html", page)
    log.info("report: %s (%d sections, %d training runs)", out / "index.html",
             sum(not s.empty for s in sections), len(run.train))
    return out


def _previews(run: Run) -> list[tuple[Path, str]]:
    """plots/preprocess/<dataset>.png, one per dataset (those of trained variants first)."""
    folder = run.root / paths.preprocess_preview("x").parent
    used = list(dict.fromkeys(m.get("dataset") for m in run.train.values() if m.get("dataset")))
    found = sorted(folder.glob("*.png"), key=lambda p: (p.stem not in used, p.stem))
    return [(p, f"`{p.stem}`: {PREVIEW_CAPTION}") for p in found]


def _appendix(run: Run, curves: dict[str, Path]) -> list[Appendix]:
    """Collapsed per-variant detail: training table + curves, then every task and forest number."""
    header, rows = train_table(run.train, {n: run.timing.get(f"train@{n}", {}) for n in run.train})
    training = Appendix("Appendix A: training runs", [("all variants", (header, rows), [])])
    phased = phase_table(run.train)
    if phased[1]:
        training.blocks.append(("training phases (variants trained in phases)", phased, []))
    for name, png in curves.items():
        training.blocks.append((f"{name}: training curves", ([], []), [(png, f"`{name}`: loss terms per epoch")]))
    detail = Appendix("Appendix B: every number per variant", [])
    for name in run.variants():
        numbers = {**{f"evaluate: {k}": v for k, v in flatten(run.eval.get(name, {})).items()},
                   **{f"classify: {k}": v for k, v in flatten(run.rf.get(name, {})).items()}}
        figs = sorted((run.root / "plots/rf" / name).glob("*.png"))
        detail.blocks.append((name, (["metric", "value"], [[k, v] for k, v in numbers.items()]),
                              [(f, f"`{name}`: {f.stem}") for f in figs]))
    return [training, detail]
