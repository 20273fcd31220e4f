"""study_digits: bottleneck size on sklearn digits (variants differing only in bottleneck).

Per variant: test/train reconstruction MSE per pixel (computed here from the checkpoint
on the full test split; evaluate@'s `reconstruct.test.mse_per_pixel` is copied beside it
when its metrics file has the key), the random forest's accuracy on originals vs
reconstructions and its verdict on GMM-synthetic digits (from metrics/rf/<variant>.json),
the codes coloured by label (2-D as they are; larger codes by their first two principal
components), and synthetic digits drawn exactly as classify@ drew them (same subset,
GMM and seed), so the figure shows samples the forest judged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..core import paths
from ..data.contract import load_processed, to_model_input
from ..core.io import read_json
from .common import check_variant, load_variant_model, setup, write_study

log = logging.getLogger("aelab")


@dataclass(frozen=True)
class DigitsRow:
    """What the figures draw of one variant (its numbers are in metrics["variants"][name])."""

    name: str
    bottleneck: int
    recon: torch.Tensor  # (n_show, 1, 8, 8) reconstructions of DigitsResult.x_show
    codes: np.ndarray  # (N_test, bottleneck) test codes
    samples: np.ndarray  # (n_show, 1, 8, 8) GMM-synthetic digits, as classify@ drew them


@dataclass(frozen=True)
class DigitsResult:
    x_show: torch.Tensor  # (n_show, 1, 8, 8) the first test digits
    y_test: np.ndarray  # (N_test,) labels of the codes
    rows: list[DigitsRow]  # in studies.digits.variants order
    metrics: dict  # metrics/studies/digits.json

    def numbers(self, row: DigitsRow) -> dict:
        return self.metrics["variants"][row.name]


def _mse(model, x: torch.Tensor, device) -> float:
    from ..probe import batched

    return float((batched(model.reconstruct, x, device) - x).pow(2).mean())


def _rf_numbers(name: str) -> dict:
    rf = read_json(paths.rf_metrics(name))
    if "accuracy" not in rf:
        return {"skipped": rf.get("skipped", "no accuracy in the rf metrics")}
    s, acc = rf["samples"], rf["accuracy"]
    out = {**_rate(acc, "test_originals", "accuracy_originals"),
           **_rate(acc, "test_reconstructions", "accuracy_reconstructions"),
           **_rate(rf, "agreement_test", "agreement"),
           "samples_mean_max_prob": s["mean_max_prob"],
           **_rate(s, "top_class_fraction", "samples_top_class_fraction"),
           "samples_class_fraction": s["class_fraction"]}
    return out


def _rate(src: dict, key: str, name: str) -> dict:
    """src[key] renamed to `name`, with the _n/_lo/_hi siblings classify@ wrote beside it."""
    return {name + suffix: src[key + suffix] for suffix in ("", "_n", "_lo", "_hi") if key + suffix in src}


def _eval_mse(name: str):
    path = paths.eval_metrics(name)
    m = read_json(path) if path.exists() else {}
    return m.get("reconstruct.test.mse_per_pixel")


def analyse(params, device) -> DigitsResult:
    """Numbers per variant and what the figures draw."""
    from ..probe import batched, fit_indices, generate

    cfg, ccfg = params.studies.digits, params.classify
    data = load_processed(paths.processed("digits"))
    x_te, x_tr = to_model_input(data.x_test, data.meta), to_model_input(data.x_train, data.meta)
    tr, _ = fit_indices(data, ccfg, np.random.default_rng(ccfg.seed))  # classify@'s fit subset
    x_show, per, rows = x_te[:cfg.n_show], {}, []
    for i, name in enumerate(cfg.variants):
        check_variant(params, name, f"studies.digits.variants[{i}]", dataset="digits")
        model, _ = load_variant_model(name, device)
        k = model.latent_dim
        per[name] = {"bottleneck": k, "test_mse_per_pixel": _mse(model, x_te, device),
                     "train_mse_per_pixel": _mse(model, x_tr, device), "rf": _rf_numbers(name)}
        ev = _eval_mse(name)
        if ev is not None:
            per[name]["eval_reconstruct_test_mse_per_pixel"] = ev
        recon, codes = batched(model.reconstruct, x_show, device), batched(model.encode, x_te, device)
        samples, info = generate(model, to_model_input(data.x_train[tr], data.meta), ccfg.n_samples,
                                 ccfg.gmm_components, ccfg.seed, device)
        per[name]["samples_sampler"] = info
        rows.append(DigitsRow(name, k, recon, codes.numpy(), samples[:cfg.n_show]))
        log.info("study_digits: %s (z=%d): test MSE/pixel %.4f, RF %s", name, k,
                 per[name]["test_mse_per_pixel"], per[name]["rf"].get("accuracy_reconstructions"))
    metrics = {"units": "MSE per pixel, images in [0, 1]",
               "bottleneck": {name: m["bottleneck"] for name, m in per.items()}, "variants": per}
    return DigitsResult(x_show, data.y_test, rows, metrics)


def study_digits(params, _name=None) -> dict:
    """The stage: metrics/studies/digits.json, plots/studies/digits/*.png."""
    from .digits_figures import codes_figure, curves_figure, recon_figure, samples_figure

    res = analyse(params, setup(params))
    return write_study("digits", res.metrics, {
        "bottleneck.png": lambda: curves_figure(res), "reconstructions.png": lambda: recon_figure(res),
        "codes.png": lambda: codes_figure(res), "synthetic.png": lambda: samples_figure(res)})
