"""The processed-data contract (DESIGN.md §2) and the one float conversion models see.

`data/processed/<dataset>.npz` holds x_train, y_train, x_test, y_test, optional extra
held-out arrays named `x_<extra>`/`y_<extra>` (e.g. `x_test_noise0.2`), and `meta`: a
JSON string. Images are uint8 (N, C, H, W); points float32 (N, D); labels int64 (−1 = none).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import CorruptArtefact
from ..core.io import write_npz

REQUIRED_META = ("name", "kind", "shape", "value_range", "binarized", "class_names", "source",
                 "skipped")


@dataclass
class Processed:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    meta: dict
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # "x_<name>"/"y_<name>"

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.meta["shape"])


def check_contract(p: Processed) -> None:
    """Raise ValueError describing the first violation of the contract."""
    missing = [k for k in REQUIRED_META if k not in p.meta]
    if missing:
        raise ValueError(f"meta lacks {missing}")
    kind = p.meta["kind"]
    arrays = {"train": (p.x_train, p.y_train), "test": (p.x_test, p.y_test)}
    arrays.update({k[2:]: (v, p.extras["y_" + k[2:]]) for k, v in p.extras.items() if k.startswith("x_")})
    for split, (x, y) in arrays.items():
        if kind == "image":
            if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] not in (1, 3):
                raise ValueError(f"{split}: images must be uint8 N×C×H×W with C in (1, 3), got {x.dtype} {x.shape}")
        elif kind == "points":
            if x.dtype != np.float32 or x.ndim != 2:
                raise ValueError(f"{split}: points must be float32 N×D, got {x.dtype} {x.shape}")
        else:
            raise ValueError(f"unknown kind {kind!r}")
        if tuple(x.shape[1:]) != tuple(p.meta["shape"]):
            raise ValueError(f"{split}: sample shape {x.shape[1:]} != meta shape {p.meta['shape']}")
        if y.dtype != np.int64 or y.shape != (len(x),):
            raise ValueError(f"{split}: labels must be int64 of length {len(x)}, got {y.dtype} {y.shape}")
        if len(x) == 0:
            raise ValueError(f"{split}: no samples")


def save_processed(path: str | Path, p: Processed) -> None:
    check_contract(p)
    meta = dict(p.meta, n_train=len(p.x_train), n_test=len(p.x_test),
                extras=sorted(k[2:] for k in p.extras if k.startswith("x_")))
    write_npz(path, {"x_train": p.x_train, "y_train": p.y_train, "x_test": p.x_test,
                     "y_test": p.y_test, "meta": np.array(json.dumps(meta)), **p.extras})


# What numpy/zipfile/json raise for a missing, empty, truncated or garbage .npz
_NPZ_ERRORS = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error)


def save_ood_set(path: str | Path, ood: Processed | None, name: str | None, reason: str) -> None:
    """data/ood/<dataset>.npz (ood@): x_test, y_test and meta (with `ood_name`) of the test
    split of OOD dataset `name`; or, with none, only `reason`."""
    if ood is None:
        write_npz(path, {"reason": np.array(reason)})
        return
    meta = dict(ood.meta, ood_name=name, n_test=len(ood.x_test))
    write_npz(path, {"x_test": ood.x_test, "y_test": ood.y_test, "meta": np.array(json.dumps(meta))})


def load_ood_set(path: str | Path) -> tuple[Processed | None, str | None, str]:
    """(the OOD test split, with an empty train split, or None; its dataset name; the reason
    when None) from save_ood_set's file, checked against the data contract."""
    path = Path(path)
    rebuild = f"dvc repro ood@{path.stem}"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if "reason" in arrays:
            return None, None, str(arrays["reason"])
        meta = json.loads(str(arrays["meta"]))
        x, y = arrays["x_test"], arrays["y_test"]
        check_contract(Processed(x, y, x, y, meta))  # the test arrays stand in for train
    except (*_NPZ_ERRORS, TypeError) as err:
        raise CorruptArtefact(path, f"is not an OOD set ({err})", rebuild) from None
    return Processed(x[:0], y[:0], x, y, meta), meta["ood_name"], ""


def load_processed(path: str | Path) -> Processed:
    """The contract back from disk; an unreadable file is a CorruptArtefact (one line naming
    it and `dvc repro preprocess@<stem>`), never a numpy traceback."""
    path = Path(path)
    rebuild = f"dvc repro preprocess@{path.stem}"
    try:
        with np.load(path, allow_pickle=False) as z:  # no pickles: data is not code
            arrays = {k: z[k] for k in z.files}
    except _NPZ_ERRORS as err:
        raise CorruptArtefact(path, _npz_problem(path, err), rebuild) from None
    missing = [k for k in ("meta", "x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise CorruptArtefact(path, f"lacks {missing}, not a processed dataset", rebuild)
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except ValueError as err:
        raise CorruptArtefact(path, f"its meta is not valid JSON ({err})", rebuild) from None
    if not isinstance(meta, dict):
        raise CorruptArtefact(path, f"its meta is a JSON {type(meta).__name__}, not an object", rebuild)
    core = {k: arrays.pop(k) for k in ("x_train", "y_train", "x_test", "y_test")}
    p = Processed(meta=meta, extras=arrays, **core)
    try:
        check_contract(p)
    except (ValueError, KeyError, TypeError) as err:
        raise CorruptArtefact(path, f"breaks the data contract ({err})", rebuild) from None
    return p


def _npz_problem(path: Path, err: BaseException) -> str:
    if isinstance(err, FileNotFoundError):
        return "does not exist"
    if path.is_file() and path.stat().st_size == 0:
        return "is empty (0 bytes)"
    if "pickled" in str(err):  # numpy's hint to load it unsafely is the wrong advice here
        return "is not a .npz (neither zip nor .npy bytes; reading it as a pickle is refused)"
    return f"is not a readable .npz (truncated or corrupt: {type(err).__name__}: {' '.join(str(err).split())})"


def to_model_input(x: np.ndarray, meta: dict):
    """Stored arrays → float32 tensor the models see (model_input as a tensor)."""
    import torch

    return torch.from_numpy(model_input(x, meta))


def model_input(x: np.ndarray, meta: dict) -> np.ndarray:
    """Stored arrays → float32 array the models see; numpy, so figures need no torch import.

    Images: uint8 in [0, value_range max] → [0, 1]. Points: standardized with the train
    mean/std recorded in meta (so held-out sets use the train statistics).
    """
    if meta["kind"] == "image":
        scale = float(meta["value_range"][1])
        return x.astype(np.float32) / scale
    mean = np.asarray(meta["standardize"]["mean"], dtype=np.float32)
    std = np.asarray(meta["standardize"]["std"], dtype=np.float32)
    return (x.astype(np.float32) - mean) / std


def from_model_output(x, meta: dict) -> np.ndarray:
    """Inverse of to_model_input for figures in data units (images → [0,1] floats)."""
    x = x.detach().cpu().float().numpy() if hasattr(x, "detach") else np.asarray(x, np.float32)
    if meta["kind"] == "image":
        return np.clip(x, 0.0, 1.0)
    mean = np.asarray(meta["standardize"]["mean"], dtype=np.float32)
    std = np.asarray(meta["standardize"]["std"], dtype=np.float32)
    return x * std + mean


def standardization(x_train: np.ndarray) -> dict:
    """Train-set mean/std per feature, recorded in meta for to_model_input."""
    std = x_train.std(axis=0)
    return {"mean": x_train.mean(axis=0).tolist(), "std": np.where(std > 0, std, 1.0).tolist()}


SOURCE_FILE = "SOURCE.json"


def raw_source(raw_dir: str | Path) -> dict:
    """What the download stage recorded about the source that served (see stages/download.py)."""
    path = Path(raw_dir) / SOURCE_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as err:  # ValueError: bad JSON or bytes that are not UTF-8
        raise CorruptArtefact(path, f"is not readable JSON ({type(err).__name__}: {err})",
                              f"dvc repro download@{Path(raw_dir).name}") from None
    if not isinstance(info, dict) or "source" not in info:
        raise CorruptArtefact(path, "holds no source record", f"dvc repro download@{Path(raw_dir).name}")
    return info
