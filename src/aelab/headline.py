"""headline: metrics/headline/<variant>.json, about ten numbers per variant, and
metrics/headline/_studies.json, one answer per study: what `dvc metrics show`,
`dvc metrics diff` and `dvc exp show` list by default.

The detailed files (metrics/train, eval, rf, studies) stay tracked in git but are plain
outputs, not declared metrics, so the default views stay narrow; pass them as targets
(`dvc metrics show metrics/eval/<v>.json`) for every number. Keys are short because DVC
prints one column per key; the loss key carries its unit (test_loss_nats, test_loss_mse …).
"""

from __future__ import annotations

import json

from pathlib import Path

from .core import paths
from .core.io import write_json

# (needle in the model's loss_units, key suffix); first match wins; None: no headline loss.
# An energy gap (RBM/DBM: the CD/PCD surrogate, whose level drifts with the persistent
# chains: −0.7 on one machine, −9.8 on another with every other number within 1%) is no
# loss level, so it stays in metrics/train only and `dvc metrics diff` shows no swing.
UNIT_SLUGS = (("energy gap", None), ("nats", "nats"), ("mse", "mse"), ("mae", "mae"), ("ssim", "ssim"),
              ("squared", "sse"))


def loss_key(units: str) -> str | None:
    """'nats/image' → 'test_loss_nats'; unknown units → 'test_loss'; an energy gap → None."""
    low = units.lower()
    for needle, slug in UNIT_SLUGS:
        if needle in low:
            return f"test_loss_{slug}" if slug else None
    return "test_loss"


def variant_headline(train: dict, ev: dict, rf: dict) -> dict:
    """The headline numbers of one variant from its three detailed files (missing → absent)."""
    out = {"epochs": train.get("epochs")}
    loss = (train.get("test") or {}).get("loss")
    key = loss_key(train.get("loss_units", ""))
    if loss is not None and key is not None:
        out[key] = loss
    for key, src in (("mse", "reconstruct.test.mse_per_pixel"), ("psnr", "reconstruct.test.psnr_db"),
                     ("ssim", "reconstruct.test.ssim"), ("knn5", "latent.knn_accuracy"),
                     ("auroc", "anomaly.auroc")):
        if ev.get(src) is not None:
            out[key] = ev[src]
    acc = (rf.get("accuracy") or {}).get("test_reconstructions")
    if acc is not None:
        out["rf_recon"] = acc
    classes = (rf.get("samples") or {}).get("classes_seen")
    if classes is not None:
        out["classes"] = classes
    warnings = sorted({*((ev.get("health") or {}).get("warnings") or {}),
                       *((rf.get("health") or {}).get("warnings") or {})})
    out["health"] = "ok" if not warnings else f"{len(warnings)} checks"  # names: report, eval file
    return {k: v for k, v in out.items() if v is not None}


def studies_headline(studies: dict[str, dict]) -> dict:
    """One number per study question (absent when the study did not run)."""
    out = {}
    for name, m in studies.items():
        if name.startswith("fmnist_ae_vs_vae"):
            out["vae_ae_bce_ratio"] = m.get("bce_ratio_vae_to_ae")
        elif name.startswith("tune_"):
            out["tune_best_cv"] = (m.get("best") or {}).get("value")
        elif name == "moons":
            out["moons_mse"] = m["spread"]["model_seeds"]["mean"]
        elif name.startswith("moons_mmd"):
            out["mmd_ae_mse_ratio"] = m.get("mse_ratio_mmd_to_reference")
        elif name == "digits":
            sizes = sorted(m["variants"].values(), key=lambda v: v["bottleneck"])
            out["digits_max_rf"] = (sizes[-1].get("rf") or {}).get("accuracy_reconstructions")
        elif name.startswith("rbm_"):  # forest accuracy on digits whose top 12 rows the RBM filled
            out["rbm_inpaint_top12_rf"] = ((m.get("inpaint") or {}).get("top_12") or {}).get("rf_correct_merged")
        elif name.startswith("gan_backbones"):
            out["gan_conv_frechet"] = (m.get("conv") or {}).get("frechet_distance")
        elif name.startswith("photo_samples"):  # the photo GAN's sharpness relative to real images
            out["photo_gan_sharpness_ratio"] = (m.get("gan") or {}).get("laplacian_variance_ratio_to_real")
    return {k: v for k, v in out.items() if v is not None}


def build_headline(params, _name=None, root: str | Path = ".") -> dict:
    root = Path(root)
    read = lambda p: json.loads((root / p).read_text()) if (root / p).exists() else {}  # noqa: E731
    folder = root / paths.headline_dir()
    written = set()
    for name in params.variants:
        train = read(paths.train_metrics(name))
        if not train:
            continue
        write_json(folder / f"{name}.json",
                   variant_headline(train, read(paths.eval_metrics(name)), read(paths.rf_metrics(name))))
        written.add(f"{name}.json")
    studies = {p.stem: json.loads(p.read_text()) for p in sorted((root / "metrics/studies").glob("*.json"))}
    write_json(folder / "_studies.json", studies_headline(studies))
    written.add("_studies.json")
    for stale in folder.glob("*.json"):  # a variant removed from params.yaml
        if stale.name not in written:
            stale.unlink()
    return {}
