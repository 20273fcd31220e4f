"""study_rbm@<name>: what the Bernoulli RBM (models/rbm.py) learns and what its Gibbs chain does.

1. Grid: small RBMs over learning rate × hidden units, trained by the one training loop
   (aelab.train.fit, as train@ trains the variant: its model and train settings with the
   grid's replaced) on a seeded subset of the training digits. fit logs `pseudo_ll` (nats
   per image, scikit-learn's BernoulliRBM.score_samples estimator) after every pass, so
   each cell's curve shows every pass count up to `epochs`. The train value is the mean
   over the pass while the weights move (as train@ logs it), the test value is read after
   it. One flipped pixel per image makes each value noisy (~±10 nats over 1,000 digits).
2. Gibbs steps from test digits with the trained variant: v₀ = the model's binarization of
   the digit, then k sweeps; the sweep-k mean-field p(v | h) is compared with the grey
   original (MSE per pixel) and labelled by the random forest probe (classify's forest,
   fitted as classify@ fits it on training originals).
3. Inpainting: a band of rows (top/bottom/middle) or columns (left/right) is removed; the
   clamped chain (known pixels held at their binarization) fills it, and the last sweep's
   p(v | h) is the hole's value. Compared with the per-pixel training mean as the fill:
   hole MSE per pixel, and the forest's accuracy on the merged image (grey known pixels +
   fill), each rate with n and a Wilson 95% interval.
4. Components: the variant's weight vectors (columns of W) as images.
5. With `dbm_variant` (a DBM, models/dbm.py, which has the RBM's chain methods): 2 and 3
   for the DBM too (its p(v | h1) as the shown value), its layer-1 weights (columns of W1)
   and its layer-2 units projected to pixels (columns of W1 W2) as images, and both models
   compared on (a) the same test digits after one Gibbs step and (b) n_samples samples from
   noise (model.sample): the forest's class histogram, classes seen (share ≥
   health.min_class_share), top-class share, and the mean distance to the nearest training
   image (MSE per pixel to the closest of all training digits; the same for test digits
   is the reference: how far a new real digit lies from the training set).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..core import paths
from ..data.contract import load_processed, to_model_input
from ..core.errors import ConfigError
from ..stats import rate_entry, share_entry
from ..core.timing import TIMING_KEY
from .common import check_variant, load_variant_model, nearest_train_mse, setup, study_entry, write_study

log = logging.getLogger("aelab")


@dataclass(frozen=True)
class GridCell:
    lr: float
    hidden: int
    train_pll: tuple[float, ...]  # per pass, nats per image (mean over the pass, training)
    test_pll: tuple[float, ...]  # per pass, nats per image (after the pass, eval mode)

    @property
    def name(self) -> str:
        return f"lr{self.lr:g}_h{self.hidden}"


@dataclass(frozen=True)
class GibbsResult:
    steps: tuple[int, ...]
    show: np.ndarray  # (n_show, 1 + len(steps), C, H, W): grey original, p(v | h) after each k
    show_labels: np.ndarray  # (n_show,) true classes of the shown digits
    mse: tuple[float, ...]  # per k: MSE per pixel of p(v | h) to the grey original
    same_class: tuple[dict, ...]  # per k: rate_entry('same_class', forest label == true class)
    originals: dict  # rate_entry('forest_accuracy_originals', …) on the same digits


@dataclass(frozen=True)
class InpaintCell:
    region: str
    rows: int
    hole_pixels: int
    hole_mse_model: float  # MSE per hole pixel, fill = the model's last sweep's p(v | h)
    hole_mse_mean_fill: float  # fill = per-pixel training mean
    rf_merged: dict  # rate_entry('rf_correct_merged', …)
    rf_mean_fill: dict  # rate_entry('rf_correct_mean_fill', …)
    show: np.ndarray | None  # (3, n_show, C, H, W): digit with hole, chain state, merge


@dataclass(frozen=True)
class RBMStudyResult:
    variant: str
    dataset: str
    grid_setting: dict  # what the grid trained with (subset sizes, passes, optimizer, …)
    grid: tuple[GridCell, ...]
    gibbs: GibbsResult
    inpaint: tuple[InpaintCell, ...]
    weights: np.ndarray  # (latent_dim, C, H, W): columns of W as images
    n_forest_fit: int
    dbm: "DBMResult | None" = None


@dataclass(frozen=True)
class NoiseSamples:
    """n samples from noise (model.sample) of one model, as the forest and the training set see them."""
    class_fraction: dict  # forest class → share of the samples it labels so
    classes_seen: int  # classes with a share ≥ health.min_class_share
    top_class: str
    top_class_share: dict  # share_entry('top_class_share', …)
    nearest_mse: float  # mean over samples of the MSE per pixel to the closest training image
    show: np.ndarray  # (n_show, C, H, W)


@dataclass(frozen=True)
class DBMResult:
    variant: str
    gibbs: GibbsResult
    inpaint: tuple[InpaintCell, ...]
    layer1: np.ndarray  # (H1, C, H, W): columns of W1 as images
    layer2: np.ndarray  # (H2, C, H, W): columns of W1 W2, layer-2 units projected to pixels
    one_step: np.ndarray  # (n_show, 3, C, H, W): grey original, RBM p(v | h) and DBM p(v | h1) after 1 sweep
    one_step_labels: np.ndarray  # (n_show,) true classes
    samples: dict  # "rbm", "dbm" → NoiseSamples
    nearest_mse_test: float  # the reference: test digits' mean MSE per pixel to the closest training image
    n_train_nearest: int  # training digits searched
    min_class_share: float


# ---- 1. grid ----------------------------------------------------------------------------

def train_grid(v, g, data, seed: int, device) -> tuple[tuple[GridCell, ...], dict]:
    """One RBM per (lr, hidden) cell of grid settings `g`, variant `v` otherwise."""
    from ..models import build_model
    from ..tasks.common import subset
    from ..train import fit

    rng = np.random.default_rng(seed)
    tr, te = subset(len(data.x_train), g.n_train, rng), subset(len(data.x_test), g.n_test, rng)
    x_tr, x_te = to_model_input(data.x_train[tr], data.meta), to_model_input(data.x_test[te], data.meta)
    cfg = dataclasses.replace(v.train, epochs=g.epochs, batch_size=g.batch_size, momentum=g.momentum,
                              lr_schedule=g.lr_schedule)
    cells = []
    for lr in g.lr:
        for hidden in g.hidden:
            torch.manual_seed(seed)  # same init and binarization draws in every cell
            model = build_model(v.model, dataclasses.replace(v.model_cfg, latent_dim=hidden), data.sample_shape)
            res = fit(model, x_tr, x_te, dataclasses.replace(cfg, lr=lr), device, seed=seed,
                      name=f"study_rbm lr={lr:g} hidden={hidden}")
            cells.append(GridCell(lr, hidden, tuple(r["train/pseudo_ll"] for r in res.history),
                                  tuple(r["test/pseudo_ll"] for r in res.history)))
            log.info("study_rbm: grid lr=%g hidden=%d: test pseudo-LL %.1f nats", lr, hidden, cells[-1].test_pll[-1])
    setting = {"n_train": len(tr), "n_test": len(te), "epochs": g.epochs, "batch_size": g.batch_size,
               "optimizer": cfg.optimizer, "momentum": g.momentum, "lr_schedule": g.lr_schedule,
               "cd_k": v.model_cfg.cd_k, "pcd": v.model_cfg.pcd, "binarize": v.model_cfg.binarize}
    return tuple(cells), setting


# ---- 2. Gibbs steps from data -----------------------------------------------------------

def gibbs_steps(model, x, y, rf, cfg, device) -> GibbsResult:
    """x (N, C, H, W) grey test digits in [0, 1], y (N,) their classes; model: an RBM or a
    DBM (both have binarize and gibbs_chain)."""
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    v0 = model.binarize(x.flatten(1).to(device), generator=gen)  # (N, D)
    probs = [p.cpu().reshape(x.shape) for p in model.gibbs_chain(v0, cfg.gibbs_steps, gen)]  # K × (N, C, H, W)
    mse = tuple(float((p - x).pow(2).mean()) for p in probs)
    same = tuple(rate_entry("same_class", rf.predict(_flat(p)) == y) for p in probs)
    n = min(cfg.n_show, len(x))
    show = torch.stack([x[:n], *[p[:n] for p in probs]], 1).numpy()  # (n, 1 + K, C, H, W)
    return GibbsResult(tuple(cfg.gibbs_steps), show, y[:n], mse, same,
                       rate_entry("forest_accuracy_originals", rf.predict(_flat(x)) == y))


# ---- 3. inpainting ----------------------------------------------------------------------

def hole_mask(region: str, rows: int, shape) -> torch.Tensor:
    """(C, H, W) bool, True on the removed pixels: `rows` rows (top, bottom, middle: a band
    centred vertically) or columns (left, right)."""
    c, h, w = shape
    m = torch.zeros(c, h, w, dtype=torch.bool)
    if region == "top":
        m[:, :rows] = True
    elif region == "bottom":
        m[:, h - rows:] = True
    elif region == "middle":
        m[:, (h - rows) // 2:(h - rows) // 2 + rows] = True
    elif region == "left":
        m[:, :, :rows] = True
    elif region == "right":
        m[:, :, w - rows:] = True
    else:
        raise ValueError(f"unknown region {region!r}")
    return m


def inpaint(model, x, y, rf, mean_img, cfg, device, who: str = "rbm") -> tuple[InpaintCell, ...]:
    """x (N, C, H, W) grey test digits, mean_img (C, H, W) per-pixel training mean; model:
    an RBM or a DBM (both have binarize and gibbs_clamped), `who` names it in the log."""
    cells = []
    n = min(cfg.n_show, len(x))
    for region in cfg.inpaint_regions:
        for rows in cfg.inpaint_rows:
            gen = torch.Generator(device=device).manual_seed(cfg.seed)  # same draws per cell
            hole = hole_mask(region, rows, x.shape[1:]).expand_as(x)  # (N, C, H, W)
            v = model.binarize(x.flatten(1).to(device), generator=gen)  # (N, D)
            filled = model.gibbs_clamped(v, ~hole.flatten(1).to(device), cfg.inpaint_steps, gen)
            state = filled.cpu().reshape(x.shape)  # binary known pixels, p(v | h) in the hole
            merged = torch.where(hole, state, x)  # grey known pixels + the chain's fill
            mean_fill = torch.where(hole, mean_img.expand_as(x), x)
            k = int(hole[0].sum())
            show = None
            if rows == cfg.show_rows:
                gap = torch.where(hole[:n], torch.full_like(x[:n], 0.5), x[:n])  # hole drawn mid-grey
                show = torch.stack([gap, state[:n], merged[:n]]).numpy()
            cells.append(InpaintCell(region, rows, k, _hole_mse(merged, x, hole), _hole_mse(mean_fill, x, hole),
                                     rate_entry("rf_correct_merged", rf.predict(_flat(merged)) == y),
                                     rate_entry("rf_correct_mean_fill", rf.predict(_flat(mean_fill)) == y),
                                     show))
            log.info("study_rbm: %s inpaint %s %d: hole MSE %.4f (mean fill %.4f), RF %.3f (mean fill %.3f)",
                     who, region, rows, cells[-1].hole_mse_model, cells[-1].hole_mse_mean_fill,
                     cells[-1].rf_merged["rf_correct_merged"], cells[-1].rf_mean_fill["rf_correct_mean_fill"])
    return tuple(cells)


# ---- 5. the DBM next to the RBM ---------------------------------------------------------

def one_step(model, x, cfg, device) -> torch.Tensor:
    """(N, C, H, W): p(v | h) after one Gibbs sweep from the binarized grey digits x (N, C, H, W)."""
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    v0 = model.binarize(x.flatten(1).to(device), generator=gen)  # (N, D)
    return model.gibbs_chain(v0, [1], gen)[0].cpu().reshape(x.shape)


def noise_samples(model, rf, train_flat, cfg, min_share: float, device) -> NoiseSamples:
    """n_samples samples from noise, judged by the forest and the nearest training image."""
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    with torch.inference_mode():  # the RBM's sample() keeps autograd on
        x = model.sample(cfg.n_samples, generator=gen).float().cpu()  # (n, C, H, W) in [0, 1]
    pred = rf.predict(_flat(x))  # (n,)
    counts = np.array([int((pred == c).sum()) for c in rf.classes_])  # (K,)
    frac = counts / len(x)
    nearest = float(nearest_train_mse(x.flatten(1), train_flat).mean())
    top = int(counts.argmax())
    return NoiseSamples({str(c): float(f) for c, f in zip(rf.classes_, frac)}, int((frac >= min_share).sum()),
                        str(rf.classes_[top]), share_entry("top_class_share", int(counts[top]), len(x)),
                        nearest, x[:cfg.n_show].numpy())


def compare_dbm(rbm, dbm, variant: str, data, rf, mean_img, train_flat, cfg, min_share: float,
                device) -> DBMResult:
    """The DBM's Gibbs steps, inpainting and layers, and both models after one step and from noise."""
    from ..tasks.common import subset

    te = subset(len(data.x_test), cfg.n_judge, np.random.default_rng([cfg.seed, 1]))  # the RBM's digits
    x, y = to_model_input(data.x_test[te], data.meta), data.y_test[te]
    gibbs = gibbs_steps(dbm, x, y, rf, cfg, device)
    te = subset(len(data.x_test), cfg.n_inpaint, np.random.default_rng([cfg.seed, 2]))
    holes = inpaint(dbm, to_model_input(data.x_test[te], data.meta), data.y_test[te], rf, mean_img, cfg, device,
                    who="dbm")
    n = min(cfg.n_show, len(x))
    pair = torch.stack([x[:n], one_step(rbm, x[:n], cfg, device), one_step(dbm, x[:n], cfg, device)], 1)
    samples = {who: noise_samples(m, rf, train_flat, cfg, min_share, device) for who, m in (("rbm", rbm), ("dbm", dbm))}
    te = subset(len(data.x_test), cfg.n_samples, np.random.default_rng([cfg.seed, 3]))
    ref = float(nearest_train_mse(to_model_input(data.x_test[te], data.meta).flatten(1), train_flat).mean())
    for who, s in samples.items():
        log.info("study_rbm: %s samples: top class %s %.2f, %d classes, nearest training MSE %.4f (test digits %.4f)",
                 who, s.top_class, s.top_class_share["top_class_share"], s.classes_seen, s.nearest_mse, ref)
    w1 = dbm.W1.detach().float().cpu()  # (D, H1)
    shape = data.sample_shape
    return DBMResult(variant, gibbs, holes, w1.t().reshape(-1, *shape).numpy(),
                     (w1 @ dbm.W2.detach().float().cpu()).t().reshape(-1, *shape).numpy(),  # (H2, C, H, W)
                     pair.numpy(), y[:n], samples, ref, len(train_flat), min_share)


def _hole_mse(fill, x, hole) -> float:
    """Mean squared error per hole pixel over all digits (every digit has the same hole)."""
    return float((fill - x)[hole].pow(2).mean())


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(len(x), -1).numpy().astype(np.float32)  # (N, D), as the probe's forest reads


# ---- the stage ----------------------------------------------------------------------------

def analyse(params, name: str, device) -> tuple[RBMStudyResult, float]:
    """The study's result and the grid's wall seconds (for the timing file only)."""
    from ..models.dbm import DBM
    from ..models.rbm import RBM
    from ..probe import originals_forest
    from ..core.runtime import thread_count
    from ..tasks.common import subset

    cfg, key = study_entry(params, "rbm", name)
    v = check_variant(params, cfg.variant, f"{key}.variant", dataset=cfg.dataset)
    data = load_processed(paths.processed(cfg.dataset))
    side = min(data.sample_shape[-2:])
    for i, rows in enumerate(cfg.inpaint_rows):
        if rows >= side:
            raise ConfigError(f"{key}.inpaint_rows[{i}]", f"must be < the image side {side}, got {rows}")
    model, _ = load_variant_model(cfg.variant, device)
    if not isinstance(model, RBM):
        raise ConfigError(f"{key}.variant", f"{cfg.variant!r} is a {v.model}, not an RBM")
    dbm = None
    if cfg.dbm_variant:
        dv = check_variant(params, cfg.dbm_variant, f"{key}.dbm_variant", dataset=cfg.dataset)
        if dv.model != "dbm":
            raise ConfigError(f"{key}.dbm_variant", f"{cfg.dbm_variant!r} is a {dv.model}, not a dbm")
        dbm, _ = load_variant_model(cfg.dbm_variant, device)
        if not isinstance(dbm, DBM):
            raise ConfigError(f"{key}.dbm_variant", f"{cfg.dbm_variant!r} does not load as a DBM")
    t0 = time.perf_counter()
    grid, setting = train_grid(v, cfg.grid, data, params.seed, device)
    grid_s = time.perf_counter() - t0
    rf, x_fit = originals_forest(params, data, thread_count(params.studies.threads))
    te = subset(len(data.x_test), cfg.n_judge, np.random.default_rng([cfg.seed, 1]))
    gibbs = gibbs_steps(model, to_model_input(data.x_test[te], data.meta), data.y_test[te], rf, cfg, device)
    te = subset(len(data.x_test), cfg.n_inpaint, np.random.default_rng([cfg.seed, 2]))
    x_train = to_model_input(data.x_train, data.meta)  # (M, C, H, W)
    mean_img = x_train.mean(0)  # (C, H, W)
    holes = inpaint(model, to_model_input(data.x_test[te], data.meta), data.y_test[te], rf, mean_img, cfg, device)
    w = model.W.detach().float().cpu().t().reshape(-1, *data.sample_shape).numpy()  # (latent_dim, C, H, W)
    cmp = None if dbm is None else compare_dbm(model, dbm, cfg.dbm_variant, data, rf, mean_img, x_train.flatten(1),
                                               cfg, params.health.min_class_share, device)
    return RBMStudyResult(cfg.variant, cfg.dataset, setting, grid, gibbs, holes, w, len(x_fit), cmp), grid_s


def to_metrics(r: RBMStudyResult) -> dict:
    cells = {c.name: {"lr": c.lr, "hidden": c.hidden, "final_test_pseudo_ll": c.test_pll[-1],
                      "final_train_pseudo_ll": c.train_pll[-1], "best_test_pseudo_ll": max(c.test_pll),
                      "best_test_pass": int(np.argmax(c.test_pll)) + 1} for c in r.grid}
    best = max(r.grid, key=lambda c: c.test_pll[-1])
    out = {"variant": r.variant, "dataset": r.dataset,
           "units": "pseudo-likelihood in nats per image (higher is better); MSE per pixel, images in [0, 1]",
           "grid": {"setting": r.grid_setting, "cells": cells,
                    "best": {"cell": best.name, "lr": best.lr, "hidden": best.hidden,
                             "final_test_pseudo_ll": best.test_pll[-1]}},
           "gibbs": _gibbs_metrics(r.gibbs),
           "inpaint": _inpaint_metrics(r.inpaint, "rbm"), "forest": {"n_fit": r.n_forest_fit},
           "components": {"n": len(r.weights)}}
    if r.dbm is not None:
        d = r.dbm
        out["dbm"] = {"variant": d.variant, "gibbs": _gibbs_metrics(d.gibbs),
                      "inpaint": _inpaint_metrics(d.inpaint, "dbm"),
                      "components": {"layer1": len(d.layer1), "layer2": len(d.layer2)}}
        out["samples_from_noise"] = {
            "units": "nearest_train_mse: MSE per pixel to the closest training digit, mean over samples",
            "n_train_searched": d.n_train_nearest, "min_class_share": d.min_class_share,
            "test_digits_nearest_train_mse": d.nearest_mse_test,
            **{who: {"nearest_train_mse": s.nearest_mse, "classes_seen": s.classes_seen, "top_class": s.top_class,
                     **s.top_class_share, "class_fraction": s.class_fraction} for who, s in d.samples.items()}}
    return out


def _gibbs_metrics(g: GibbsResult) -> dict:
    steps = {str(k): {"mse_per_pixel": g.mse[i], **g.same_class[i]} for i, k in enumerate(g.steps)}
    return {**g.originals, "steps": steps}


def _inpaint_metrics(cells, who: str) -> dict:
    """Per (region, rows); the chain's hole MSE keyed hole_mse_<who> (rbm / dbm)."""
    return {f"{c.region}_{c.rows}": {"region": c.region, "rows": c.rows, "hole_pixels": c.hole_pixels,
                                     f"hole_mse_{who}": c.hole_mse_model, "hole_mse_mean_fill": c.hole_mse_mean_fill,
                                     **c.rf_merged, **c.rf_mean_fill} for c in cells}


def study_rbm(params, name: str) -> dict:
    """The stage: metrics/studies/rbm_<name>.json, plots/studies/rbm_<name>/*.png."""
    study_entry(params, "rbm", name)
    device = setup(params)
    res, grid_s = analyse(params, name, device)
    metrics = to_metrics(res)
    from .rbm_figures import components_figure, dbm_layers_figure, gibbs_figure, grid_figure, inpaint_figure, \
        samples_figure

    figures = {"grid.png": lambda: grid_figure(res), "gibbs_steps.png": lambda: gibbs_figure(res),
               "inpainting.png": lambda: inpaint_figure(res), "components.png": lambda: components_figure(res)}
    if res.dbm is not None:
        figures.update({"inpainting_dbm.png": lambda: inpaint_figure(res, dbm=True),
                        "rbm_vs_dbm_samples.png": lambda: samples_figure(res),
                        "dbm_layer1.png": lambda: dbm_layers_figure(res, 1),
                        "dbm_layer2.png": lambda: dbm_layers_figure(res, 2)})
    return {**write_study(f"rbm_{name}", metrics, figures), TIMING_KEY: {"grid_s": grid_s}}
