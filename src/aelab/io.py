"""Atomic writers: a temp file in the target's folder, then os.replace.

A stage that dies half-way leaves either the old file or none, never a torn one.
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask. POSIX can only read it by setting it, so set 0 and restore at
    once; cached, so the brief window happens once per process (not at import)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it over `path` only if the block succeeds.

    mkstemp creates the file 0600; before the rename it gets the mode a plain open() would
    (0666 & ~umask, e.g. 0644), so outputs stay readable by the group/other users DVC expects.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _jsonable(value: Any) -> Any:
    """Numpy/torch scalars → Python; refuses NaN/inf so no metrics file holds them."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite value {value!r} cannot be written as a metric")
    return value


def rounded(d, digits: int = 6):
    """Floats to `digits` significant digits, recursively (readable metrics files)."""
    if isinstance(d, dict):
        return {k: rounded(v, digits) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [rounded(v, digits) for v in d]
    if isinstance(d, float) and math.isfinite(d):
        return float(f"{d:.{digits}g}")
    return d


def write_json(path: str | os.PathLike, data: dict) -> None:
    text = json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_json(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(path).suffix.lstrip(".") or "png")
    plt.close(fig)


def write_npz(path: str | os.PathLike, arrays: dict, compress: bool = True) -> None:
    """Like np.savez_compressed, but with fixed zip timestamps: equal arrays give equal
    bytes, so DVC hashes stay stable and downstream stages do not rerun for nothing."""
    import zipfile

    import numpy as np

    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path, suffix=".npz") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=mode) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = mode
                with zf.open(info, "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.asanyarray(array), allow_pickle=False)
