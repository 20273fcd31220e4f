"""study_moons: the best sweep setting of the bottleneck-1 moons autoencoder, under scrutiny.

1. Best setting: base with each adopted axis (studies.moons.adopt) at its sweep best
   (lowest mean test MSE over seeds; per-axis minima combined, a coordinate-wise choice).
2. Spread: the setting trained with `seeds` model seeds on the same data, and on
   `data_seeds` other datasets (model seed fixed): test MSE mean/std/min/max; the sweeps'
   base setting over the same model seeds, and whether the adopted setting beats it beyond
   seed noise (Welch's t-test): per-axis bests need not combine into a better setting.
3. Codes: histogram of the 1-D training codes with a GMM (BIC) and synthetic points
   decoded from GMM draws; quality = MMD² to the test points (standardized units; the
   floor is the MMD² of a fresh real sample) and mean distance to the noiseless moons.
4. Noise: the model on a test set at test_noise without retraining, and a model trained
   at train_noise: how the decoded curve (the decoder's image of the code range, on which
   every reconstruction lies) moves — mean distance to the noiseless moons (data units)
   and the Chamfer distance between the two decoded curves.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import torch

from ..core import paths
from ..data.contract import from_model_output
from ..core.io import read_json
from ..losses import mmd2
from .compare import versus
from .common import setup, stats, write_study
from .config import MoonsSetting
from .moons import (chamfer, codes, decoded_curve, moons_points, mse, nn_distance, recon,
                    train_setting, true_curve)

log = logging.getLogger("aelab")


@dataclasses.dataclass(frozen=True)
class CodesArrays:
    """What the code/GMM figure draws (points in data units)."""

    z: np.ndarray  # (N_train,) the 1-D training codes
    gmm: object  # tasks.generative.CodeGMM fitted on them
    syn: np.ndarray  # (n_generate, 2) GMM draws through the decoder
    test: np.ndarray  # (N_test, 2) test points


@dataclasses.dataclass(frozen=True)
class NoiseArrays:
    """What the noise figure draws (points in data units)."""

    key_base: str  # "train_noise_<s.noise>", the metrics key of the base model
    key_noisy: str  # "train_noise_<train_noise>", of the model trained at the higher noise
    test_noise: float
    mse_clean: float  # the base model's test MSE at its own noise and at test_noise
    mse_noisy: float
    test: np.ndarray  # (N_test, 2) test points and the base model's reconstructions
    recon: np.ndarray
    noisy: np.ndarray  # (N_test, 2) test points at test_noise and their reconstructions
    noisy_recon: np.ndarray
    curve: np.ndarray  # (curve_points, 2) the noiseless moons
    decoded_base: np.ndarray  # (curve_points, 2) each model's decoded curve
    decoded_noisy: np.ndarray


def best_setting(params) -> tuple[MoonsSetting, dict]:
    """(setting, {axis: best value}) from the sweep metrics of the adopted axes."""
    sweep, chosen = params.studies.moons_sweep, {}
    for axis in params.studies.moons.adopt:
        m = read_json(paths.study_metrics(f"moons_sweep_{axis}"))
        chosen[axis] = m["best"]["value"]
    s = sweep.base
    for axis, value in chosen.items():
        s = sweep.setting(axis, value, f"metrics/studies/moons_sweep_{axis}.json: best", on=s)
    return s, chosen


def spread(s: MoonsSetting, base: MoonsSetting, seed: int, n_seeds: int, n_data: int,
           device) -> tuple[dict, object, object]:
    """Test MSE over model seeds (same data) and over data seeds, and the base setting over
    the same model seeds; → (metrics, the first seed's model, its MoonsSet)."""
    by_seed, by_base, by_data, first = [], [], [], ()
    for k in range(n_seeds):
        model, _, data = train_setting(s, seed + k, device, name=f"best seed {seed + k}")
        by_seed.append(mse(model, data.x_test, device))
        first = first or (model, data)
    for k in range(n_seeds):
        model, _, data = train_setting(base, seed + k, device, name=f"base seed {seed + k}")
        by_base.append(mse(model, data.x_test, device))
    for k in range(1, n_data + 1):
        sd = dataclasses.replace(s, data_seed=s.data_seed + 10 * k)  # train/test seeds do not overlap
        model, _, data = train_setting(sd, seed, device, name=f"best data {sd.data_seed}")
        by_data.append(mse(model, data.x_test, device))
    log.info("study_moons: test MSE over seeds %s (base %s), over datasets %s", np.round(by_seed, 5),
             np.round(by_base, 5), np.round(by_data, 5))
    return {"model_seeds": {**stats(by_seed), "values": by_seed},
            "base_model_seeds": {**stats(by_base), "values": by_base},
            "vs_base": versus(by_seed, by_base),
            "data_seeds": {**stats(by_data), "values": by_data}}, *first


def gmm_synthetic(model, data, s: MoonsSetting, cfg, seed: int, device) -> tuple[dict, CodesArrays]:
    """GMM on the 1-D training codes → synthetic points; their quality numbers."""
    from ..tasks.generative import CodeGMM

    z = codes(model, data.x_train, device)  # (N, 1)
    gmm = CodeGMM.fit(z.numpy(), cfg.gmm_components, seed)
    with torch.inference_mode():
        syn = model.decode(torch.from_numpy(gmm.sample(cfg.n_generate, seed)).to(device)).float().cpu()
    fresh = data.points(moons_points(len(data.x_test), s.noise, 10_000 + seed)[0])  # real, unseen
    curve = true_curve(cfg.curve_points)
    syn_d, test_d = from_model_output(syn, data.meta), from_model_output(data.x_test, data.meta)
    bw = cfg.mmd_bandwidths
    m = {"gmm_components": gmm.n_components, "gmm_bic": gmm.bic[gmm.n_components],
         "n_generate": cfg.n_generate,
         "mmd2_synthetic_vs_test": float(mmd2(syn.double(), data.x_test.double(), "rbf", bw)),
         "mmd2_floor_real_vs_test": float(mmd2(fresh.double(), data.x_test.double(), "rbf", bw)),
         "dist_to_noiseless_moons": {"synthetic": nn_distance(syn_d, curve),
                                     "test_originals": nn_distance(test_d, curve)}}
    return m, CodesArrays(z.numpy()[:, 0], gmm, syn_d, test_d)


def noise_effects(s: MoonsSetting, model, data, cfg, seed: int, device) -> tuple[dict, NoiseArrays]:
    """The base model on a noisier test set; a model trained at train_noise; curve geometry."""
    noisy = data.points(moons_points(s.n_test, cfg.test_noise, s.data_seed + 1)[0])  # same test seed
    s2 = dataclasses.replace(s, noise=cfg.train_noise)
    model2, _, data2 = train_setting(s2, seed, device, name=f"noise {cfg.train_noise:g}")
    curve = true_curve(cfg.curve_points)
    c1 = decoded_curve(model, codes(model, data.x_train, device), cfg.curve_points, data.meta, device)
    c2 = decoded_curve(model2, codes(model2, data2.x_train, device), cfg.curve_points, data2.meta, device)
    r1 = from_model_output(recon(model, data.x_test, device), data.meta)
    r2 = from_model_output(recon(model2, data2.points(from_model_output(data.x_test, data.meta)), device),
                           data2.meta)  # the noise-0.1 test points through the noise-0.2 model
    key1, key2 = f"train_noise_{s.noise:g}", f"train_noise_{cfg.train_noise:g}"
    m = {
        "test_mse": {f"test_noise_{s.noise:g}": mse(model, data.x_test, device),
                     f"test_noise_{cfg.test_noise:g}": mse(model, noisy, device),
                     f"{key2}_own_test": mse(model2, data2.x_test, device)},
        "curve_dist_to_noiseless_moons": {key1: nn_distance(c1, curve), key2: nn_distance(c2, curve)},
        "recon_dist_to_noiseless_moons": {key1: nn_distance(r1, curve), key2: nn_distance(r2, curve)},
        "chamfer_between_decoded_curves": chamfer(c1, c2),
        "curve_length": {key1: _length(c1), key2: _length(c2)},
        "units": "distances in data units; MSE per coordinate in each model's standardized space",
    }
    m["test_mse_ratio_noisy_vs_clean"] = (m["test_mse"][f"test_noise_{cfg.test_noise:g}"]
                                          / m["test_mse"][f"test_noise_{s.noise:g}"])
    return m, NoiseArrays(
        key1, key2, cfg.test_noise, m["test_mse"][f"test_noise_{s.noise:g}"],
        m["test_mse"][f"test_noise_{cfg.test_noise:g}"], from_model_output(data.x_test, data.meta), r1,
        from_model_output(noisy, data.meta), from_model_output(recon(model, noisy, device), data.meta),
        curve, c1, c2)


def _length(c: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(c, axis=0), axis=1).sum())


def study_moons(params, _name=None) -> dict:
    """The stage: metrics/studies/moons.json, plots/studies/moons/*.png."""
    device, cfg, seed = setup(params), params.studies.moons, params.seed
    s, chosen = best_setting(params)
    log.info("study_moons: best setting %s (adopted %s)", s, chosen)
    spread_m, model, data = spread(s, params.studies.moons_sweep.base, seed, cfg.seeds, cfg.data_seeds, device)
    gmm_m, gmm_fig = gmm_synthetic(model, data, s, cfg, seed, device)
    noise_m, noise_fig = noise_effects(s, model, data, cfg, seed, device)
    metrics = {"setting": dataclasses.asdict(s), "adopted_from_sweep": chosen,
               "units": "test MSE per coordinate, standardized space", "spread": spread_m,
               "codes_gmm": gmm_m, "noise": noise_m}
    from .moons_figures import gmm_figure, noise_figure, spread_figure

    return write_study("moons", metrics, {"spread.png": lambda: spread_figure(spread_m, s),
                                          "codes_gmm.png": lambda: gmm_figure(gmm_fig, gmm_m),
                                          "noise.png": lambda: noise_figure(noise_fig, noise_m)})
