"""study_moons_mmd@<name>: two moons without a bottleneck — the MMD autoencoder (latent 2).

Compared with the bottleneck-1 autoencoder on the same processed moons test set:
- reconstruction MSE per coordinate (standardized space) of both and their ratio
  (MMD-AE / AE-z1; < 1: the 2-D code keeps the across-moon offset the 1-D code drops);
- the code distribution vs N(0, I): MMD² (RBF, metric_bandwidths — one fixed yardstick
  for every model) and its floor, the MMD² between two N(0, I) samples of the same size;
- synthetic data: N(0, I) → decoder (the AE-z1 reference: a BIC GMM on its codes), with
  MMD² to the test points (floor: a fresh real sample) and the mean distance to the
  noiseless moons in data units.
A small grid (kernel × bandwidth set × λ) is trained here from the variant's model settings
on grid_n_train points and scored the same way.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core import paths
from ..core.config import to_dict
from ..data.contract import from_model_output, load_processed, to_model_input
from ..core.errors import TrainingDiverged
from ..losses import mmd2
from ..core.params import TrainParams
from .common import check_variant, load_variant_model, setup, study_entry, write_study
from .moons import moons_points, nn_distance, true_curve

log = logging.getLogger("aelab")


@dataclasses.dataclass
class Moons:
    x_train: torch.Tensor  # (N, 2) standardized
    x_test: torch.Tensor
    meta: dict
    fresh: torch.Tensor  # a real sample unseen by every model (the MMD² floor), standardized


@dataclasses.dataclass(frozen=True)
class MoonsArrays:
    """What the comparison figure draws of one model, in data units."""

    rec: np.ndarray  # (N_test, 2) reconstructions of the test points
    z: np.ndarray  # (N_test, latent) test codes
    syn: np.ndarray  # (n_generate, 2) synthetic points


@dataclasses.dataclass(frozen=True)
class MmdResult:
    x_test: np.ndarray  # (N_test, 2) test points, data units
    mmd_ae: MoonsArrays
    reference: MoonsArrays
    metrics: dict  # metrics/studies/moons_mmd_<name>.json


def load_moons(seed: int) -> Moons:
    data = load_processed(paths.processed("moons"))
    noise = float(data.meta.get("noise", 0.1))
    fresh, _ = moons_points(len(data.x_test), noise, 10_000 + seed)
    return Moons(to_model_input(data.x_train, data.meta), to_model_input(data.x_test, data.meta),
                 data.meta, to_model_input(fresh, data.meta))


@torch.inference_mode()
def scores(model, d: Moons, bw, seed: int, n_gen: int, device) -> tuple[dict, MoonsArrays]:
    """Reconstruction, code and synthetic-data numbers of one model; arrays for figures."""
    x = d.x_test.to(device)
    rec = model.reconstruct(x).float().cpu()
    z = model.encode(x).float().cpu()  # (N, latent)
    gen = torch.Generator().manual_seed(seed)
    if model.has_prior:
        prior = torch.randn(len(z), z.shape[1], generator=gen, dtype=torch.float64)
        prior2 = torch.randn(len(z), z.shape[1], generator=gen, dtype=torch.float64)
        syn = model.decode(torch.randn(n_gen, z.shape[1], generator=gen).to(device)).float().cpu()
        code = {"code_mmd2_vs_normal": float(mmd2(z.double(), prior, "rbf", bw)),
                "code_mmd2_floor_normal_vs_normal": float(mmd2(prior2, prior, "rbf", bw)),
                "synthetic_from": "N(0, I) through the decoder"}
    else:  # the bottleneck-1 reference: no prior, a GMM on its training codes
        from ..tasks.generative import CodeGMM

        gmm = CodeGMM.fit(model.encode(d.x_train.to(device)).float().cpu().numpy(), (1, 2, 3, 4, 6, 8, 10), seed)
        syn = model.decode(torch.from_numpy(gmm.sample(n_gen, seed)).to(device)).float().cpu()
        code = {"synthetic_from": f"{gmm.n_components}-component GMM on training codes"}
    syn_d = from_model_output(syn, d.meta)
    m = {"test_mse": float((rec - d.x_test).pow(2).mean()), **code,
         "synthetic_mmd2_vs_test": float(mmd2(syn.double(), d.x_test.double(), "rbf", bw)),
         "synthetic_dist_to_noiseless_moons": nn_distance(syn_d, true_curve(2000))}
    return m, MoonsArrays(from_model_output(rec, d.meta), z.numpy(), syn_d)


def grid(cfg, base_args: dict, d: Moons, seed: int, device, lr_schedule: str) -> dict:
    """Train the kernel × bandwidth set × λ grid with the variant's lr schedule (at a
    constant lr the last epoch's test MSE is a noisy snapshot: params.yaml, moons_mmd_z2);
    → {label: scores}."""
    from ..models import build_model
    from ..train import fit

    tc = TrainParams(epochs=cfg.grid_epochs, batch_size=cfg.grid_batch_size, lr=cfg.grid_lr,
                     lr_schedule=lr_schedule)
    x_tr = d.x_train[:cfg.grid_n_train]  # make_moons shuffles: the first n are a random subset
    combos = [(k, b, lam) for k in cfg.kernels for b in cfg.bandwidth_sets for lam in cfg.lams]
    out = {}
    for kernel, bws, lam in tqdm(combos, desc="moons_mmd grid", unit="run", disable=None):
        label = f"{kernel}/{len(bws)}bw/lam{lam:g}"
        torch.manual_seed(seed)
        model = build_model("mmd_ae", {**base_args, "kernel": kernel, "bandwidths": list(bws), "lam": lam}, (2,))
        try:
            fit(model, x_tr, d.x_test, tc, device, seed=seed, name=label)
        except TrainingDiverged as err:
            log.warning("study_moons_mmd: %s", err)
            out[label] = {"kernel": kernel, "n_bandwidths": len(bws), "lam": lam, "diverged": str(err)}
            continue
        m, _ = scores(model.eval(), d, cfg.metric_bandwidths, seed, cfg.n_generate, device)
        out[label] = {"kernel": kernel, "n_bandwidths": len(bws), "lam": lam, **m}
        log.info("study_moons_mmd: %s: test MSE %.4f, code MMD² %.2e", label, m["test_mse"], m["code_mmd2_vs_normal"])
    return out


def study_moons_mmd(params, name: str) -> dict:
    """The stage: metrics/studies/moons_mmd_<name>.json, plots/studies/moons_mmd_<name>/."""
    from ..core.errors import ConfigError

    cfg, key = study_entry(params, "moons_mmd", name)
    v = check_variant(params, cfg.variant, f"{key}.variant", dataset="moons")
    check_variant(params, cfg.reference, f"{key}.reference", dataset="moons")
    if v.model != "mmd_ae":
        raise ConfigError(f"{key}.variant", f"{cfg.variant!r} is a {v.model!r}, this study needs an mmd_ae")
    device = setup(params)
    d, bw = load_moons(params.seed), cfg.metric_bandwidths
    mmd_model, _ = load_variant_model(cfg.variant, device)
    ref_model, _ = load_variant_model(cfg.reference, device)
    m_mmd, f_mmd = scores(mmd_model, d, bw, params.seed, cfg.n_generate, device)
    m_ref, f_ref = scores(ref_model, d, bw, params.seed, cfg.n_generate, device)
    floor = float(mmd2(d.fresh.double(), d.x_test.double(), "rbf", bw))
    g = grid(cfg, to_dict(v.model_cfg), d, params.seed, device, v.train.lr_schedule)
    metrics = {
        "variant": cfg.variant, "reference": cfg.reference,
        "units": "MSE per coordinate (standardized space); MMD² with RBF bandwidths "
                 f"{list(bw)} (standardized units); distances in data units",
        "mse_ratio_mmd_to_reference": m_mmd["test_mse"] / m_ref["test_mse"],
        "mmd_ae": m_mmd, "reference_ae": m_ref, "synthetic_mmd2_floor_real_vs_test": floor,
        "grid": g, "grid_settings": {"n_train": cfg.grid_n_train, "epochs": cfg.grid_epochs,
                                     "batch_size": cfg.grid_batch_size, "lr": cfg.grid_lr,
                                     "lr_schedule": v.train.lr_schedule},
    }
    ok = {k: r for k, r in g.items() if "test_mse" in r}
    if ok:
        metrics["grid_best"] = {"by_test_mse": min(ok, key=lambda k: ok[k]["test_mse"]),
                                "by_code_mmd2": min(ok, key=lambda k: ok[k]["code_mmd2_vs_normal"])}
    from .mmd_figures import comparison_figure, grid_figure

    res = MmdResult(from_model_output(d.x_test, d.meta), f_mmd, f_ref, metrics)
    figures = {"comparison.png": lambda: comparison_figure(res)}
    if ok:
        figures["grid.png"] = lambda: grid_figure(g, cfg)
    written = write_study(f"moons_mmd_{name}", metrics, figures)
    log.info("study_moons_mmd@%s: MSE ratio MMD-AE / AE-z1 = %.3f, code MMD² %.2e", name,
             metrics["mse_ratio_mmd_to_reference"], m_mmd["code_mmd2_vs_normal"])
    return written
