"""Random-forest probe: how much class information survives the autoencoder?

A RandomForestClassifier (sklearn, random_state set) is fitted on training ORIGINALS
only (flattened, in the model's input space), then scored on
- test originals (the forest's own accuracy: the yardstick),
- test reconstructions ("does it look like the real thing": a blurry reconstruction can
  keep the class and still fool a forest that only ever saw sharp digits),
- reconstructions of training samples (the same images it was fitted on),
and the agreement rate between its labels for a test image and for its reconstruction.
A second forest is fitted on the RECONSTRUCTIONS of the training images and scored on
test reconstructions (`test_reconstructions_recon_forest`: the information the code
keeps, whatever the outputs look like). Its accuracy on its own training originals is not
reported: a forest memorises its training set (1.0 says nothing). Every rate carries
`_n`, `_lo`, `_hi` (Wilson 95% interval); `health` holds aelab.health's probe checks.
Generated samples (model.sample() where the model has a prior, else decoded draws of a
GMM fitted to training codes, tasks.generative.CodeGMM) get the forest's predicted class
histogram and mean max-probability: a forest that is sure about samples and spreads them
over classes like the data suggests class-like samples.

    result = run_probe(model, data, params.classify, n_jobs=1)
    write_probe(result, paths.rf_metrics(v), paths.rf_plots(v), paths.rf_confusion(v))
"""

from __future__ import annotations

import csv
import logging
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data.contract import Processed, from_model_output, to_model_input
from .stats import rate_entry, share_entry
from .tasks.common import subset

log = logging.getLogger("aelab")


@dataclass
class ProbeResult:
    metrics: dict
    class_names: list[str]
    meta: dict  # the dataset's meta (kind, class names, standardization)
    confusions: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name → (actual, predicted)
    samples: np.ndarray | None = None  # (n, *shape) in data units for figures
    sample_pred: np.ndarray | None = None  # (n,) predicted class index
    sample_prob: np.ndarray | None = None  # (n,) max probability
    test_points: np.ndarray | None = None  # (N, D) data units, points datasets only

    @property
    def kind(self) -> str:
        return self.meta["kind"]


@torch.inference_mode()
def batched(fn, x: torch.Tensor, device, batch: int = 500) -> torch.Tensor:
    """fn over CPU tensor x in batches on `device`; CPU float32 result."""
    outs = [fn(x[i:i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)]
    return torch.cat(outs)


def fit_forest(x: np.ndarray, y: np.ndarray, n_estimators: int, seed: int, n_jobs: int = 1):
    """x: (N, F) features, y: (N,) int labels → fitted RandomForestClassifier."""
    from sklearn.ensemble import RandomForestClassifier

    rf = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, n_jobs=n_jobs)
    return rf.fit(x, y)


def originals_forest(params, data, n_jobs: int = 1):
    """classify@'s random forest, fitted exactly as classify@ fits it (the `classify`
    params, the same seeded subset of labelled training originals) → (forest, the
    subset's images (N, C, H, W) in model space)."""
    from .data.contract import to_model_input

    ccfg = params.classify
    tr, _ = fit_indices(data, ccfg, np.random.default_rng(ccfg.seed))
    x = to_model_input(data.x_train[tr], data.meta)
    rf = fit_forest(x.reshape(len(x), -1).numpy().astype(np.float32), data.y_train[tr], ccfg.n_estimators,
                    ccfg.seed, n_jobs)
    return rf, x


def generate(model, x_fit: torch.Tensor, n: int, components, seed: int, device) -> tuple[torch.Tensor, dict]:
    """n samples (n, *shape) in model space and how they were made.

    Prior models: decode N(0, I) (model.sample, seeded generator). Others: a GMM on the
    codes of x_fit (BIC picks n_components; the task suite's CodeGMM so evaluate@ and
    classify@ sample the same way)."""
    if model.has_prior:
        gen = torch.Generator(device=device).manual_seed(seed)
        with torch.inference_mode():
            x = model.sample(n, generator=gen).float().cpu()
        return x, {"sampler": "prior"}
    from .tasks.generative import CodeGMM

    z = batched(model.encode, x_fit, device).numpy()  # (N, latent)
    gmm = CodeGMM.fit(z, components, seed)
    codes = torch.from_numpy(gmm.sample(n, seed))  # (n, latent)
    x = batched(model.decode, codes, device)
    return x, {"sampler": "gmm", "gmm_components": gmm.n_components, "gmm_fit_codes": len(z)}


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(len(x), -1).numpy().astype(np.float32)  # (N, F)


def _labels_ok(data: Processed) -> str:
    """'' when the forest can be fitted, else the reason to skip."""
    if (data.y_train < 0).all():
        return "dataset has no labels (all −1)"
    if len(np.unique(data.y_train[data.y_train >= 0])) < 2:
        return "fewer than 2 classes among the training labels"
    return ""


def fit_indices(data: Processed, cfg, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labelled train indices the forest (and the GMM sampler) is fitted on; test indices."""
    tr = subset(len(data.x_train), cfg.max_train, rng)
    te = subset(len(data.x_test), cfg.max_test, rng)
    return tr[data.y_train[tr] >= 0], te[data.y_test[te] >= 0]


def run_probe(model, data: Processed, cfg, *, device="cpu", n_jobs: int = 1,
              name: str = "model") -> ProbeResult:
    """Fit the forest and score originals, reconstructions and samples (see module doc)."""
    device = torch.device(device)
    model = model.to(device).eval()
    names = list(data.meta.get("class_names") or [])
    base = {"variant": name, "dataset": data.meta["name"], "kind": data.kind}
    reason = _labels_ok(data)
    if reason:
        log.info("classify@%s: skipped: %s", name, reason)
        return ProbeResult({**base, "skipped": reason}, names, data.meta)
    rng = np.random.default_rng(cfg.seed)
    tr, te = fit_indices(data, cfg, rng)
    x_tr, y_tr = to_model_input(data.x_train[tr], data.meta), data.y_train[tr]  # (N, *shape)
    x_te, y_te = to_model_input(data.x_test[te], data.meta), data.y_test[te]
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    names = names if len(names) >= n_classes else [str(i) for i in range(n_classes)]
    log.info("classify@%s: forest of %d trees on %d originals (%d features)", name,
             cfg.n_estimators, len(tr), x_tr[0].numel())
    rf = fit_forest(_flat(x_tr), y_tr, cfg.n_estimators, cfg.seed, n_jobs)
    m = {**base, "n_fit": len(tr), "n_test": len(te), "n_estimators": cfg.n_estimators,
         "chance_accuracy": float(np.bincount(y_te).max() / len(y_te))}
    pred_te = rf.predict(_flat(x_te))
    acc = rate_entry("test_originals", pred_te == y_te)
    res = ProbeResult(m, names, data.meta, {"test_originals": (y_te, pred_te)})
    m["mean_max_prob"] = {"test_originals": float(rf.predict_proba(_flat(x_te)).max(1).mean())}
    if model.has_encoder:
        keep = np.arange(len(x_te))
        if model.encode_by_optimization:  # each encode() is an optimisation: score a seeded subset
            keep = subset(len(x_te), cfg.max_optimized, rng)
        m["n_reconstructed"] = len(keep)  # test images; as many train images
        _score_reconstructions(model, rf, x_tr, y_tr, x_te[keep], y_te[keep], pred_te[keep],
                               device, acc, res, rng, cfg)
    else:
        m["skipped"] = {"reconstructions": "model has no encoder"}
    m["accuracy"] = acc
    _score_samples(model, rf, x_tr, cfg, device, res, names)
    if data.kind == "points":
        res.test_points = from_model_output(x_te, data.meta)
    log.info("classify@%s: accuracy %s", name,
             {k: round(v, 4) for k, v in acc.items() if not k.endswith(("_n", "_lo", "_hi"))})
    return res


def _score_reconstructions(model, rf, x_tr, y_tr, x_te, y_te, pred_te, device, acc, res, rng, cfg):
    r_te = batched(model.reconstruct, x_te, device)  # (N_test, *shape)
    pred_r = rf.predict(_flat(r_te))
    acc.update(rate_entry("test_reconstructions", pred_r == y_te))
    res.metrics.update(rate_entry("agreement_test", pred_r == pred_te))  # same label for x and x̂
    res.metrics["mean_max_prob"]["test_reconstructions"] = float(rf.predict_proba(_flat(r_te)).max(1).mean())
    hist = np.bincount(pred_r, minlength=len(res.class_names)) / len(pred_r)
    res.metrics["reconstruction_class_fraction"] = {res.class_names[i]: float(f) for i, f in enumerate(hist)}
    # the forest of reconstructions: fitted on x̂ of training images (as many as a GAN's
    # latent search affords), scored on x̂ of test images
    idx = subset(len(x_tr), len(x_te) if model.encode_by_optimization else 0, rng)
    r_tr = batched(model.reconstruct, x_tr[idx], device)  # (N_fit', *shape)
    acc.update(rate_entry("train_reconstructions", rf.predict(_flat(r_tr)) == y_tr[idx]))
    rf_r = fit_forest(_flat(r_tr), y_tr[idx], cfg.n_estimators, cfg.seed, rf.n_jobs)
    acc.update(rate_entry("test_reconstructions_recon_forest", rf_r.predict(_flat(r_te)) == y_te))
    res.metrics["n_fit_recon_forest"] = len(idx)
    res.confusions["test_reconstructions"] = (y_te, pred_r)


def _score_samples(model, rf, x_tr, cfg, device, res: ProbeResult, names):
    x, info = generate(model, x_tr, cfg.n_samples, cfg.gmm_components, cfg.seed, device)
    prob = rf.predict_proba(_flat(x))  # (n, n_fitted_classes)
    pred = rf.classes_[prob.argmax(1)]
    hist = np.bincount(pred, minlength=len(names)) / len(pred)
    res.metrics["samples"] = {
        **info, "n": len(x), "mean_max_prob": float(prob.max(1).mean()),
        "class_fraction": {names[i]: float(hist[i]) for i in range(len(names))},
        **share_entry("top_class_fraction", int(np.bincount(pred).max()), len(pred)),
        "classes_seen": int((hist > 0).sum()),
    }
    res.samples = x.numpy()  # model space: images in [0, 1], points standardized
    res.sample_pred, res.sample_prob = pred, prob.max(1)


# ---- outputs ----

def write_probe(res: ProbeResult, metrics_path: Path, plots_dir: Path, data_dir: Path) -> None:
    """metrics JSON; plots dir: the PNG figures (DVC cache); data dir: confusion_<split>.csv
    (DVC confusion plots, committed). All are written to hidden temp paths and swapped in at
    the end, metrics last (aelab.core.io)."""
    from .core.io import rounded, staged_outputs, write_json

    with staged_outputs(plots_dir, data_dir, metrics_path) as (plots, data, metrics_file):
        plots.mkdir()
        data.mkdir()
        if "skipped" in res.metrics and "accuracy" not in res.metrics:
            _note_figure(plots / "skipped.png", f"classify skipped: {res.metrics['skipped']}")
        else:
            for split, (actual, pred) in res.confusions.items():
                _write_confusion_csv(data / f"confusion_{split}.csv", actual, pred, res.class_names)
            _confusion_figure(res, plots / "confusion.png")
            _samples_figure(res, plots / "samples.png")
        write_json(metrics_file, rounded(res.metrics))


def _write_confusion_csv(path: Path, actual, pred, names) -> None:
    from .core.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["actual", "predicted"])
        w.writerows([names[a], names[p]] for a, p in zip(actual, pred))


def _style():
    from .tasks.common import set_style

    set_style()


def _note_figure(path: Path, text: str) -> None:
    import matplotlib.pyplot as plt

    from .core.io import save_figure

    _style()
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    save_figure(fig, path)


def _confusion_figure(res: ProbeResult, path: Path) -> None:
    """Row-normalised confusion matrices (recall per true class), side by side."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from sklearn.metrics import confusion_matrix

    from .core.io import save_figure

    _style()
    k = len(res.class_names)
    fig, axes = plt.subplots(1, len(res.confusions), figsize=(5.5 * len(res.confusions), 4.8),
                             squeeze=False)
    for i, (ax, (split, (actual, pred))) in enumerate(zip(axes[0], res.confusions.items())):
        cm = confusion_matrix(actual, pred, labels=range(k), normalize="true")
        acc = float((actual == pred).mean())
        sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", annot=k <= 10, fmt=".2f",
                    xticklabels=res.class_names, yticklabels=res.class_names,
                    cbar=split == list(res.confusions)[-1], annot_kws={"fontsize": 7})
        ax.set(xlabel="predicted", ylabel="actual" if i == 0 else "",
               title=f"{split.replace('_', ' ')} — accuracy {acc:.3f}")
        # the rows are the same classes: name them once, at the left (long names such as
        # emoji's ran over the panel beside)
        if i:
            ax.tick_params(axis="y", labelleft=False)
    fig.suptitle(f"Random forest on {res.metrics['variant']}: confusion (row-normalised)")
    save_figure(fig, path)


def _samples_figure(res: ProbeResult, path: Path) -> None:
    """Generated samples with the forest's label; right: predicted class histogram."""
    import matplotlib.pyplot as plt

    from .core.io import save_figure

    _style()
    s = res.metrics["samples"]
    n_show = min(res.metrics["samples"]["n"], 20)
    height = 1.4 * int(np.ceil(n_show / 10)) + 1.6 if res.kind == "image" else 4.5
    fig = plt.figure(figsize=(12, max(height, 0.3 * len(res.class_names) + 1.5)))
    # the gap holds the bar chart's class names (emoji's ran over the images beside)
    gs = fig.add_gridspec(1, 2, width_ratios=[2.2, 1], wspace=0.5)
    how = "prior N(0, I)" if s["sampler"] == "prior" else f"{s.get('gmm_components')}-component GMM on train codes"
    if res.kind == "image":
        _image_panel(fig, gs[0], res, n_show)
    else:
        ax = fig.add_subplot(gs[0])
        pts = from_model_output(res.samples, res.meta)  # (n, D) data units
        if res.test_points is not None:
            ax.scatter(res.test_points[:, 0], res.test_points[:, 1], s=5, c="0.8", label="test originals")
        for c in np.unique(res.sample_pred):
            sel = res.sample_pred == c
            ax.scatter(pts[sel, 0], pts[sel, 1], s=6, label=f"sample → {res.class_names[c]}")
        ax.set(xlabel="x₁", ylabel="x₂", title="generated points, coloured by the forest's label")
        ax.legend(fontsize=8)
    ax = fig.add_subplot(gs[1])
    frac = list(s["class_fraction"].values())
    ax.barh(range(len(frac)), frac, color="tab:blue")
    names = [textwrap.fill(n, 22) for n in res.class_names]  # long names on two lines
    ax.set_yticks(range(len(frac)), names, fontsize=9)  # positions: names like "0" stay labels
    ax.invert_yaxis()
    ax.set(xlabel="fraction of samples", title=f"predicted classes (mean max-p {s['mean_max_prob']:.2f})")
    fig.suptitle(f"{res.metrics['variant']}: {s['n']} samples from the {how}")
    save_figure(fig, path)


def _image_panel(fig, cell, res: ProbeResult, n_show: int) -> None:
    cols = min(10, n_show)
    rows = int(np.ceil(n_show / cols))
    sub = cell.subgridspec(rows, cols, wspace=0.05, hspace=0.45)
    for i in range(n_show):
        ax = fig.add_subplot(sub[i // cols, i % cols])
        img = np.clip(res.samples[i], 0, 1)  # (C, H, W)
        ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"{res.class_names[res.sample_pred[i]][:8]}\n{res.sample_prob[i]:.2f}", fontsize=7)
        ax.axis("off")


# ---- the classify@<variant> stage ----

def classify_variant(params, name: str) -> dict:
    """classify@<name>: metrics/rf/<name>.json and plots/rf/<name>/ from the trained model."""
    from .core import paths
    from .checkpoint import load_checkpoint
    from .data.contract import load_processed
    from .core.errors import AelabError
    from .core.runtime import configure_torch, cpu_layout, thread_count

    v = params.variant(name)
    device = configure_torch(params.runtime.threads, params.runtime.device)
    data = load_processed(paths.processed(v.dataset))
    model, state = load_checkpoint(paths.model_file(name), device)
    model = cpu_layout(model, device)  # the conv models reconstruct 1.2–2.2× faster
    if state.get("dataset") != v.dataset:
        raise AelabError(f"classify@{name}: {paths.model_file(name)} was trained on "
                         f"{state.get('dataset')!r}, params say {v.dataset!r}; retrain it")
    res = run_probe(model, data, params.classify, device=device, name=name,
                    n_jobs=thread_count(params.runtime.threads))
    res.metrics["model"] = v.model
    if "accuracy" in res.metrics:
        from .health import probe_health

        res.metrics["health"] = probe_health(res.metrics, params.health)
        if not res.metrics["health"]["ok"]:
            log.warning("classify@%s: health: %s", name, "; ".join(
                f"{k}: {w['why']}" for k, w in res.metrics["health"]["warnings"].items()))
    write_probe(res, paths.rf_metrics(name), paths.rf_plots(name), paths.rf_confusion(name))
    return res.metrics
