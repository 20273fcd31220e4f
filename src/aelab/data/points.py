"""sklearn datasets that need no network: two moons (points) and 8×8 digits (images)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.config import SEED_MAX, spec
from ..core.io import write_npz
from .contract import Processed, standardization
from .preview import Example, RawPreview, pick

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MoonsConfig:
    """n_train/n_test: points per split; noise: std of the Gaussian noise (sklearn), in
    [0, 1] — the moons have radius 1, so more noise erases them; test_noises: extra held-out
    test sets at other noise levels (stored as `test_noise<σ>`), each in [0, 1];
    seed: data seed, separate from the model seed so repeats can share one dataset."""

    n_train: int = spec(1000, ge=10)
    n_test: int = spec(1000, ge=10)
    noise: float = spec(0.1, ge=0, le=1)
    test_noises: tuple[float, ...] = spec((0.2,))
    seed: int = spec(0, ge=0, le=SEED_MAX)

    def validate(self, key: str) -> None:
        from ..core.errors import ConfigError

        for i, s in enumerate(self.test_noises):
            if not 0 <= s <= 1:
                raise ConfigError(f"{key}.test_noises[{i}]", f"must be in [0, 1], got {s}")
        if len(set(self.test_noises)) != len(self.test_noises):  # names x_test_noise<σ> would clash
            raise ConfigError(f"{key}.test_noises", f"lists a noise level twice: {list(self.test_noises)}")


def _moons(n: int, noise: float, seed: int):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


def download_moons(cfg: MoonsConfig, raw_dir: Path) -> dict:
    """'Download' = generate with sklearn; every split has its own derived seed."""
    arrays = {}
    arrays["x_train"], arrays["y_train"] = _moons(cfg.n_train, cfg.noise, cfg.seed)
    arrays["x_test"], arrays["y_test"] = _moons(cfg.n_test, cfg.noise, cfg.seed + 1)
    for i, s in enumerate(cfg.test_noises):
        arrays[f"x_test_noise{s:g}"], arrays[f"y_test_noise{s:g}"] = _moons(cfg.n_test, s, cfg.seed + 2 + i)
    write_npz(raw_dir / "moons.npz", arrays)
    return {"source": "sklearn.datasets.make_moons", "noise": cfg.noise}


def preprocess_moons(cfg: MoonsConfig, raw_dir: Path) -> Processed:
    with np.load(raw_dir / "moons.npz") as z:
        a = {k: z[k] for k in z.files}
    meta = {
        "name": "moons", "kind": "points", "shape": [2], "value_range": None, "binarized": False,
        "class_names": ["upper moon", "lower moon"], "source": "sklearn.datasets.make_moons",
        "skipped": {}, "noise": cfg.noise, "standardize": standardization(a["x_train"]),
    }
    core = {k: a.pop(k) for k in ("x_train", "y_train", "x_test", "y_test")}
    return Processed(meta=meta, extras=a, **core)


@dataclass(frozen=True)
class DigitsConfig:
    """test_size: fraction held out (stratified by label); seed: split seed."""

    test_size: float = spec(0.25, gt=0, lt=1)
    seed: int = spec(0, ge=0, le=SEED_MAX)


def download_digits(cfg: DigitsConfig, raw_dir: Path) -> dict:
    from sklearn.datasets import load_digits

    d = load_digits()
    write_npz(raw_dir / "digits.npz", {"images": d.images.astype(np.uint8),
                                      "target": d.target.astype(np.int64)})
    return {"source": "sklearn.datasets.load_digits (bundled with scikit-learn)"}


def _digits_raw(raw_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(raw_dir / "digits.npz") as z:
        return z["images"], z["target"]  # (1797, 8, 8) uint8 values 0..16, (1797,) int64


def preprocess_digits(cfg: DigitsConfig, raw_dir: Path) -> Processed:
    from sklearn.model_selection import train_test_split

    x, y = _digits_raw(raw_dir)
    x = x[:, None]  # (1797, 1, 8, 8)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=cfg.test_size, stratify=y,
                                              random_state=cfg.seed)
    meta = {
        "name": "digits", "kind": "image", "shape": [1, 8, 8], "value_range": [0, 16],
        "binarized": False, "class_names": [str(i) for i in range(10)],
        "source": "sklearn.datasets.load_digits", "skipped": {},
    }
    return Processed(x_tr, y_tr, x_te, y_te, meta)


def preview_digits(cfg: DigitsConfig, raw_dir: Path, n: int, rng) -> RawPreview:
    """Raw digits and what preprocess_digits stores for them: the same 0..16 values."""
    x, _ = _digits_raw(raw_dir)
    return pick(len(x), n, rng, lambda i: Example(x[i], x[i][None]), "digits.npz,\nuint8 0–16", vmax=16)
