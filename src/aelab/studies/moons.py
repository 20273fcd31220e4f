"""Two-moons helpers of the studies: data made in-process, one training run, curve geometry.

Data: sklearn make_moons with the generator settings of data.moons (train seed s, test
seed s+1), standardized with the training set's mean/std like preprocess@moons, so the
base setting (1000/1000 points, noise 0.1, seed 0) reproduces data/processed/moons.npz.
Errors are MSE per coordinate in the standardized space the model sees (its loss).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..data.contract import from_model_output, standardization, to_model_input
from ..core.params import TrainParams
from .config import MoonsSetting

log = logging.getLogger("aelab")


@dataclass
class MoonsSet:
    x_train: torch.Tensor  # (n_train, 2) standardized
    x_test: torch.Tensor  # (n_test, 2) standardized with the train statistics
    y_train: np.ndarray
    y_test: np.ndarray
    meta: dict  # {"kind": "points", "standardize": {...}} for to/from_model_input

    def points(self, x: np.ndarray) -> torch.Tensor:
        """Other data-unit points (N, 2) → this set's model space."""
        return to_model_input(np.asarray(x, np.float32), self.meta)


def moons_points(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


@lru_cache(maxsize=32)
def moons_set(n_train: int, n_test: int, noise: float, data_seed: int) -> MoonsSet:
    x_tr, y_tr = moons_points(n_train, noise, data_seed)
    x_te, y_te = moons_points(n_test, noise, data_seed + 1)
    meta = {"kind": "points", "standardize": standardization(x_tr)}
    return MoonsSet(to_model_input(x_tr, meta), to_model_input(x_te, meta), y_tr, y_te, meta)


def data_of(s: MoonsSetting) -> MoonsSet:
    return moons_set(s.n_train, s.n_test, s.noise, s.data_seed)


def train_cfg(s: MoonsSetting) -> TrainParams:
    return TrainParams(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, lr_schedule=s.lr_schedule)


def train_setting(s: MoonsSetting, seed: int, device, data: MoonsSet | None = None,
                  name: str = "moons"):
    """(model, FitResult, data): an mlp_ae trained on `s` with model seed `seed`."""
    from ..models import build_model
    from ..train import fit

    data = data or data_of(s)
    torch.manual_seed(seed)  # initial weights
    model = build_model("mlp_ae", {"latent_dim": 1, "hidden_size": s.hidden_size,
                                   "layers": s.layers, "loss": "mse"}, (2,))
    result = fit(model, data.x_train, data.x_test, train_cfg(s), device, seed=seed, name=name)
    return model.eval(), result, data


@torch.inference_mode()
def recon(model, x: torch.Tensor, device) -> torch.Tensor:
    return model.reconstruct(x.to(device)).float().cpu()  # (N, 2)


def mse(model, x: torch.Tensor, device) -> float:
    """Mean squared error per coordinate (standardized units) of x's reconstructions."""
    return float((recon(model, x, device) - x).pow(2).mean())


@torch.inference_mode()
def codes(model, x: torch.Tensor, device) -> torch.Tensor:
    return model.encode(x.to(device)).float().cpu()  # (N, latent)


def true_curve(n: int) -> np.ndarray:
    """(n, 2) points on the noiseless moons: the curve the data are noise around."""
    return moons_points(n, 0.0, 0)[0]


@torch.inference_mode()
def decoded_curve(model, z_train: torch.Tensor, n: int, meta: dict, device) -> np.ndarray:
    """The decoder's image of a dense 1-D code grid (n, 2), data units: the 1-D curve every
    reconstruction of a bottleneck-1 model lies on. The grid spans the 0.5–99.5th
    percentiles of the training codes (the curve the bulk of the data maps to; a few
    outlying codes would otherwise add long excursions nothing is reconstructed on)."""
    lo, hi = (float(q) for q in torch.quantile(z_train.flatten(), torch.tensor([0.005, 0.995])))
    z = torch.linspace(lo, hi, n).unsqueeze(1)  # (n, 1)
    return from_model_output(model.decode(z.to(device)).float().cpu(), meta)


def nn_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance from each point of a (N, D) to its nearest point of b (M, D)."""
    from scipy.spatial import cKDTree

    return float(cKDTree(b).query(a)[0].mean())


def chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance: mean of both directed nearest-neighbour means."""
    return 0.5 * (nn_distance(a, b) + nn_distance(b, a))


def with_(s: MoonsSetting, **changes) -> MoonsSetting:
    return dataclasses.replace(s, **changes)
