"""Trying a dataset's sources in order, and the file plumbing they share.

Every `download_<name>` builds a list of `(what, fn)` attempts — the configured local path,
an offline copy on this machine, the network — and hands it to `first_source`, which runs
them in order, logs the one that served, and otherwise raises ONE `DataUnavailable` that
lists every attempt with its reason plus how to provide the data (DESIGN.md §2).

Local paths may be a folder, a .zip or a .tar(.gz/.bz2/.xz); `scan`/`extract` treat all
three alike so a dataset only says which member names it wants. Archives are data, not
trusted (DESIGN.md §4): links, special files and names escaping the destination are never
extracted but recorded (`Listing.dropped`), and `extract` refuses members past a per-file or
total uncompressed-size cap, first from the declared sizes, then again while streaming.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import shutil
import socket
import stat
import subprocess
import tarfile
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from ..core.errors import AelabError, DataError, DataUnavailable
from .images import MAX_RECORDS  # per-file records kept; the counts stay complete

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
        except AelabError:  # hostile or wrong data: stop here, but leave no partial files
            clear_dir(raw_dir)
            raise
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


MIB = 1 << 20
MAX_MEMBER_MIB = 64  # defaults of every dataset config's max_member_mib / max_total_mib
MAX_TOTAL_MIB = 4096


@dataclass(frozen=True)
class Limits:
    """Extraction caps in bytes; `key` is the dataset's params prefix, named in refusals."""

    max_member: int = MAX_MEMBER_MIB * MIB
    max_total: int = MAX_TOTAL_MIB * MIB
    key: str = "data.<name>"

    @classmethod
    def of(cls, cfg, key: str) -> "Limits":
        return cls(cfg.max_member_mib * MIB, cfg.max_total_mib * MIB, key)


@dataclass
class Listing:
    """What `scan` found: regular members (sorted), their declared uncompressed sizes in
    bytes, and every member left out with why ({"file", "reason"})."""

    names: list[str]
    sizes: dict[str, int]
    dropped: list[dict] = field(default_factory=list)

    def record(self) -> dict:
        """The dropped members as SOURCE-dict entries (preprocess copies them into meta)."""
        counts: dict[str, int] = {}
        for d in self.dropped:
            counts[d["reason"]] = counts.get(d["reason"], 0) + 1
        return {"dropped": counts, "dropped_files": self.dropped[:MAX_RECORDS]} if self.dropped else {}


def list_members(path: Path) -> list[str]:
    """Relative POSIX names of the regular files in a folder, zip or tar, sorted."""
    return scan(path).names


def scan(path: Path) -> Listing:
    """List a folder, zip or tar without following or trusting anything in it.

    macOS archive metadata (__MACOSX/, ._* AppleDouble files, .DS_Store) is not data and is
    left out silently; symlinks, hard links, devices/FIFOs and names that would land outside
    the destination ("path traversal") are dropped with a record; the rest is listed, so
    odd files reach the per-file skip record of images.py."""
    if path.is_dir():
        entries = _folder_entries(path)
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            entries = [(i.filename, _zip_kind(i), i.file_size) for i in zf.infolist()]
    elif path.is_file() and tarfile.is_tarfile(path):
        with tarfile.open(path) as tf:
            entries = [(m.name, _tar_kind(m), m.size) for m in tf.getmembers()]
    else:
        raise SourceFailed(f"{path} is not a folder, a .zip or a .tar archive")
    listing = Listing([], {})
    for name, kind, size in sorted(entries, key=lambda e: e[0]):
        if kind == "dir" or _mac_metadata(name):
            continue
        if not _safe(name):
            kind = "path traversal"
        elif kind == "file" and name in listing.sizes:
            kind = "duplicate member name"  # only the first copy is extracted
        if kind == "file":
            listing.names.append(name)
            listing.sizes[name] = size
        else:
            listing.dropped.append({"file": name, "reason": kind})
    if listing.dropped:
        log.warning("%s: left out %d members: %s", path, len(listing.dropped), listing.record()["dropped"])
    return listing


def _folder_entries(root: Path) -> list[tuple[str, str, int]]:
    """(name, kind, size) under root; os.walk(followlinks=False) never enters a linked folder."""
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(folder, name)
            st = p.lstat()
            rel = p.relative_to(root).as_posix()
            if stat.S_ISLNK(st.st_mode):
                out.append((rel, "symlink", 0))
            elif stat.S_ISREG(st.st_mode):
                out.append((rel, "file", st.st_size))
            elif not stat.S_ISDIR(st.st_mode):
                out.append((rel, "not a regular file", 0))
    return out


def _zip_kind(info: zipfile.ZipInfo) -> str:
    if info.is_dir():
        return "dir"
    mode = info.external_attr >> 16  # unix st_mode, when the zip was made on unix
    if stat.S_ISLNK(mode):
        return "symlink"  # stored as a file holding the target path; extracting it would lie
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "not a regular file"
    return "file"


def _tar_kind(m: tarfile.TarInfo) -> str:
    if m.isdir():
        return "dir"
    if m.issym():
        return "symlink"
    if m.islnk():
        return "hard link"
    return "file" if m.isfile() else "not a regular file"


def _mac_metadata(name: str) -> bool:
    p = PurePosixPath(name)
    return "__MACOSX" in p.parts or p.name.startswith("._") or p.name == ".DS_Store"


def _safe(name: str) -> bool:
    """Member names that stay inside the destination (no absolute paths, no '..')."""
    p = PurePosixPath(name)
    return bool(p.parts) and not p.is_absolute() and ".." not in p.parts and "\0" not in name


def found_folders(names: list[str], limit: int = 12) -> str:
    """'found folders: a, b' — the distinct parent-folder names, for "holds no X" messages."""
    folders = sorted({PurePosixPath(n).parent.name for n in names} - {""})
    if not folders:
        return f"found {len(names)} files and no folders"
    more = f", … ({len(folders)} in all)" if len(folders) > limit else ""
    return f"found folders: {', '.join(folders[:limit])}{more}"


def verify_sha256(path: Path, expected: str, key: str) -> None:
    """A configured checksum on a local archive: the wrong file stops the stage (DataError)."""
    if not expected:
        return
    got = sha256_file(path)
    if got != expected.lower():
        raise DataError(f"{path}: sha256 {got} does not match {key} {expected.lower()}; if this is "
                        f"a different copy you trust, set {key}: \"\" to skip the check "
                        "(or put its sha256 there)")


def extract(path: Path, names: list[str], dest: Path, limits: Limits = Limits(),
            sizes: dict[str, int] | None = None) -> int:
    """Copy the named regular members of folder/zip/tar `path` to dest/<name>; returns the count.

    `sizes` are the declared sizes (`scan(path).sizes`, rescanned when None). Members over
    `limits` are refused before anything is written; the same caps bound the bytes actually
    read, so an archive whose data outgrows its declared sizes stops mid-way (DataError,
    its partial file removed).
    """
    sizes = scan(path).sizes if sizes is None else sizes
    wanted = [n for n in names if _safe(n) and n in sizes]
    total = 0
    for n in wanted:
        total += sizes[n]
        _check_caps(path, n, sizes[n], total, limits, streaming=False)
    written = 0
    for name, read in _openers(path, wanted):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with read() as src, open(target, "wb") as out:
                written = _copy_capped(src, out, path, name, written, limits)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return len(wanted)


def _copy_capped(src, out, path: Path, name: str, written: int, limits: Limits) -> int:
    """Stream src → out in 1 MiB chunks; DataError once a cap is passed. Returns the new total."""
    member = 0
    for chunk in iter(lambda: src.read(MIB), b""):
        member += len(chunk)
        _check_caps(path, name, member, written + member, limits, streaming=True)
        out.write(chunk)
    return written + member


def _check_caps(path: Path, name: str, member: int, total: int, limits: Limits, streaming: bool) -> None:
    """DataError naming archive, member and the cap's params key once a cap is passed."""
    mib = lambda b: f"{b / MIB:,.1f} MiB"  # noqa: E731
    one, many = ("produced", "produced") if streaming else ("declares", "declare")
    when = "while extracting (more than declared)" if streaming else "before extracting"
    if member > limits.max_member:
        raise DataError(f"{path}: member {name} {one} {mib(member)} uncompressed, over the "
                        f"{limits.max_member // MIB} MiB per-file cap ({limits.key}.max_member_mib); "
                        f"refused {when} — raise the cap if the file is genuine")
    if total > limits.max_total:
        raise DataError(f"{path}: the members up to {name} {many} {mib(total)} uncompressed, over "
                        f"the {limits.max_total // MIB} MiB total cap ({limits.key}.max_total_mib); "
                        f"refused {when} — raise the cap if the archive is genuine")


def _openers(path: Path, names: list[str]) -> Iterator[tuple[str, Callable]]:
    if path.is_dir():
        for n in names:
            # O_NOFOLLOW: a file swapped for a symlink after scan() is refused, not followed
            yield n, (lambda n=n: os.fdopen(os.open(path / n, os.O_RDONLY | os.O_NOFOLLOW), "rb"))
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            first: dict[str, zipfile.ZipInfo] = {}
            for info in zf.infolist():
                first.setdefault(info.filename, info)  # zf.open(name) would take the last copy
            for n in names:
                yield n, (lambda n=n: zf.open(first[n]))
    else:
        wanted = set(names)
        with tarfile.open(path) as tf:
            for m in tf:  # archive order: a .tar.gz cannot seek backwards cheaply
                if m.isfile() and m.name in wanted:
                    wanted.discard(m.name)  # the first copy of a repeated name, as scan() listed
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
