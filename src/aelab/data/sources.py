"""Trying a dataset's sources in order, and the file plumbing they share.

Every `download_<name>` builds a list of `(what, fn)` attempts — the configured local path,
an offline copy on this machine, the network — and hands it to `first_source`, which runs
them in order, logs the one that served, and otherwise raises ONE `DataUnavailable` that
lists every attempt with its reason plus how to provide the data (DESIGN.md §2).

Local paths may be a folder, a .zip or a .tar(.gz/.bz2/.xz); `list_members`/`extract`
treat all three alike so a dataset only says which member names it wants.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import socket
import subprocess
import tarfile
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from ..errors import DataUnavailable

log = logging.getLogger(__name__)

# What a failing source may raise. Anything else is a bug and propagates with its traceback.
SOURCE_ERRORS = (OSError, RuntimeError, ValueError, EOFError, KeyError, ImportError, zipfile.BadZipFile,
                 tarfile.TarError, pickle.UnpicklingError, subprocess.SubprocessError)

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
USER_AGENT = "aelab-data/0.1 (+https://github.com/)"


class SourceFailed(Exception):
    """One source cannot serve; the message is the reason shown to the user."""


Attempt = tuple[str, Callable[[], dict]]  # (what is tried, fn returning the SOURCE dict)


def first_source(dataset: str, raw_dir: Path, attempts: Iterable[Attempt], how_to: str) -> dict:
    """Run attempts in order; return the first one's SOURCE dict (with what failed before).

    A failed attempt's partial files are removed so the next one starts from an empty raw_dir.
    """
    tried: list[tuple[str, str]] = []
    for what, fn in attempts:
        try:
            info = fn()
        except SourceFailed as err:
            reason = str(err)
        except SOURCE_ERRORS as err:
            reason = f"{type(err).__name__}: {_one_line(err)}"
        else:
            log.info("%s: served by %s", dataset, info["source"])
            if tried:
                info["tried_before"] = [f"{w}: {r}" for w, r in tried]
            return info
        log.info("%s: %s did not serve: %s", dataset, what, reason)
        tried.append((what, reason))
        clear_dir(raw_dir)
    lines = [f"no source could provide dataset {dataset!r}. Tried, in order:"]
    lines += [f"  {i}. {w}: {r}" for i, (w, r) in enumerate(tried, 1)]
    lines.append(f"To provide it: {how_to}")
    raise DataUnavailable("\n".join(lines))


def _one_line(err: BaseException) -> str:
    text = " | ".join(s.strip() for s in str(err).splitlines() if s.strip())
    return text[:600] + ("…" if len(text) > 600 else "")


def clear_dir(path: Path) -> None:
    for p in Path(path).iterdir():
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


def source_of(raw_dir: Path, fallback: str) -> dict:
    """The SOURCE dict the download stage saved (fallback when a test/user skipped it)."""
    from .contract import SOURCE_FILE, raw_source

    if (Path(raw_dir) / SOURCE_FILE).exists():
        return raw_source(raw_dir)
    return {"source": fallback}


# --- local paths: folder, zip, tar ------------------------------------------------------------

def local_path(source: str, key: str) -> Path:
    """The configured path, or SourceFailed saying why it cannot be used."""
    if not source:
        raise SourceFailed(f"not set ({key} is empty)")
    path = Path(os.path.expanduser(source))
    if not path.exists():
        raise SourceFailed(f"{path} does not exist")
    return path


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def list_members(path: Path) -> list[str]:
    """Relative POSIX names of the regular files in a folder, zip or tar, sorted.

    macOS archive metadata (__MACOSX/, ._* AppleDouble files, .DS_Store) is not data and is
    left out; everything else is listed, so odd files reach the per-file skip record."""
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
    elif path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
    else:
        raise SourceFailed(f"{path} is not a folder, a .zip or a .tar archive")
    return sorted(n for n in names if _safe(n) and not _mac_metadata(n))


def _mac_metadata(name: str) -> bool:
    p = PurePosixPath(name)
    return "__MACOSX" in p.parts or p.name.startswith("._") or p.name == ".DS_Store"


def _safe(name: str) -> bool:
    """Member names that stay inside the destination (no absolute paths, no '..')."""
    p = PurePosixPath(name)
    return bool(p.parts) and not p.is_absolute() and ".." not in p.parts


def extract(path: Path, names: list[str], dest: Path) -> int:
    """Copy the named members of folder/zip/tar `path` to dest/<name>; returns the count."""
    wanted = [n for n in names if _safe(n)]
    for name, read in _openers(path, wanted):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with read() as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    return len(wanted)


def _openers(path: Path, names: list[str]) -> Iterator[tuple[str, Callable]]:
    if path.is_dir():
        for n in names:
            yield n, (lambda n=n: open(path / n, "rb"))
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for n in names:
                yield n, (lambda n=n: zf.open(n))
    else:
        wanted = set(names)
        with tarfile.open(path) as tf:
            for m in tf:  # archive order: a .tar.gz cannot seek backwards cheaply
                if m.isfile() and m.name in wanted:
                    yield m.name, (lambda m=m: tf.extractfile(m))


def find_dir_members(names: list[str], folder: str) -> list[str]:
    """Members lying (at any depth) under a folder component named `folder`."""
    return [n for n in names if folder in PurePosixPath(n).parts[:-1]]


# --- network ----------------------------------------------------------------------------------

def require_download(allowed: bool) -> None:
    """Network sources start with this, so `download: false` shows up in the tried list."""
    if not allowed:
        raise SourceFailed("skipped (download: false)")


@contextmanager
def socket_timeout(seconds: float):
    """Bound every socket operation (torchvision's downloaders set no timeout of their own)."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_url(url: str, dest: Path, sha256: str = "", timeout: float = 30.0) -> Path:
    """Stream `url` to `dest` (via dest.part); verify sha256 when given. `timeout` bounds
    connecting and each read, not the whole transfer (archives like AFHQ are large)."""
    from tqdm import tqdm

    part = dest.with_name(dest.name + ".part")
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=None) as bar:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        if sha256:
            got = sha256_file(part)
            if got != sha256.lower():
                raise SourceFailed(f"{url}: sha256 {got} does not match the expected {sha256}")
        part.replace(dest)
    except (urllib.error.URLError, OSError) as err:
        raise SourceFailed(f"{url}: {type(err).__name__}: {_one_line(err)}") from err
    finally:
        part.unlink(missing_ok=True)
    return dest
