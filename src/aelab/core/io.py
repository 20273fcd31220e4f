"""Atomic writers: a temp file in the target's folder, then os.replace; and staged output
sets (a file or folder each), swapped in together at the end of a successful stage.

A stage that dies half-way leaves either the old file or none, never a torn one. Every temp
name is hidden and carries TMP_TAG (`.<name>.tmp-…`), which .gitignore covers (`.*.tmp-*`),
so a kill -9 never leaves a file git would pick up; the next run removes it (clear_stale).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


TMP_TAG = ".tmp-"  # in every temp name beside an output; .gitignore: `.*.tmp-*`


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TMP_TAG}", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def temp_beside(path: str | os.PathLike, tag: str) -> Path:
    """`.<name>.tmp-<tag><suffix>` beside `path`: hidden, .gitignored, and with `path`'s
    suffix last so writers that infer a format from it (torch, numpy) still work."""
    path = Path(path)
    return path.with_name(f".{path.name}{TMP_TAG}{tag}{path.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def clear_stale(path: str | os.PathLike) -> None:
    """Remove what a killed run left beside `path` (`.<name>.tmp-*`). If the kill fell between
    the two renames of the fallback folder swap (_swap_in), `path` is missing and its old copy
    is still there: put it back first, so the old outputs survive."""
    path = Path(path)
    old = temp_beside(path, "old")
    if old.exists() and not path.exists():
        os.rename(old, path)
    for stale in path.parent.glob(f".{glob.escape(path.name)}{TMP_TAG}*"):
        _remove(stale)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported
    (another OS, an old kernel or glibc, a filesystem without it)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _swap_in(new: Path, target: Path) -> Path | None:
    """Put `new` at `target` in one step; returns where the old content went (to delete
    after every swap of the set is done), or None."""
    if not new.exists() and not new.is_symlink():
        raise FileNotFoundError(f"staged output {new} was not written")
    if not target.is_dir():  # a file, or nothing: rename replaces it atomically
        os.replace(new, target)
        return None
    if _exchange(new, target):
        return new  # the old folder now sits under the temp name
    old = temp_beside(target, "old")  # fallback: two renames; clear_stale repairs a kill between
    os.rename(target, old)
    os.rename(new, target)
    return old


@contextmanager
def staged_outputs(*targets: str | os.PathLike) -> Iterator[list[Path]]:
    """Yield a hidden temp path beside each target (not created: write a file there, or make
    a folder). When the block succeeds, each is swapped over its target in the order given,
    back to back (microseconds apart), and only then are the old copies deleted. A failure or
    kill before the swaps leaves every old output as it was; leftovers are .gitignored and
    cleared here at the next start.

    Callers list the metrics file last: the swaps are atomic one by one, not as a set, so the
    metrics file (what people, DVC and downstream stages read) turns new only after every
    figure and model it describes already has."""
    targets = [Path(t) for t in targets]
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        clear_stale(target)
    temps = [temp_beside(t, "new") for t in targets]
    try:
        yield temps
        olds = [_swap_in(tmp, target) for tmp, target in zip(temps, targets)]
        for old in olds:
            if old is not None:
                _remove(old)
    finally:
        for tmp in temps:  # a failed block's partial outputs
            _remove(tmp)


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


# Metadata matplotlib embeds by default that is not the picture: its version (PNG
# "Software"), dates and creator (PDF, SVG). Dropped, so equal figures give equal bytes.
_NO_METADATA = {"png": {"Software": None}, "svg": {"Creator": None, "Date": None},
                "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Save a matplotlib figure atomically and close it; same picture, same bytes."""
    import matplotlib.pyplot as plt

    fmt = Path(path).suffix.lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt, metadata=_NO_METADATA.get(fmt))
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
