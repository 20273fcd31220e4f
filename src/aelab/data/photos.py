"""Photo datasets that need the user's files or the network: CIFAR-10, AFHQ cats, pistachios
(and the helpers tinyheroes.py shares with them).

Sources, in order (DESIGN.md §2): the configured `source` (folder, .zip or .tar[.gz]); then
the network — torchvision's CIFAR-10 downloader (md5-checked), the AFHQ archive (sha256),
the Kaggle CLI or a user-given URL for pistachios. Photo folders go through images.py, so
broken/odd files are skipped or converted with a per-file record in meta; members the
download left out of an archive (links, path traversal: sources.scan) join that record.

A configured local archive is checked against the dataset's `sha256` when one is set, and
a source without the wanted class folder is refused with what it does hold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.config import SEED_MAX, spec
from ..core.errors import ConfigError, DataError, DataUnavailable
from . import safe_pickle, sources
from .contract import Processed
from .images import MAX_ASPECT, MAX_PIXELS, check_background, load_folder, preview_folder
from .preview import Example, RawPreview, pick
from .sources import SourceFailed

IMAGES = "images"  # raw_dir/images/… holds the extracted photos, original relative paths kept


def _check_sha(value: str, key: str) -> None:
    if value and (len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value)):
        raise ConfigError(key, f"must be a 64-character hex sha256 or empty, got {value!r}")


# --- CIFAR-10 ---------------------------------------------------------------------------------

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


@dataclass(frozen=True)
class Cifar10Config:
    """source: cifar-10-python.tar.gz, its extracted cifar-10-batches-py folder (or a folder
    or zip holding it), tried first; "" = none. download: allow torchvision's downloader
    (default true). limit_train: keep only the first N training images (0 = all 50,000).
    timeout: network timeout per socket operation, seconds (default 30). max_member_mib /
    max_total_mib: refuse a local archive whose members exceed this many MiB uncompressed
    each / in all (default 64 / 4096; a batch is 30 MiB)."""

    source: str = ""
    download: bool = True
    limit_train: int = spec(0, ge=0)
    timeout: float = spec(30.0, gt=0)
    max_member_mib: int = spec(sources.MAX_MEMBER_MIB, ge=1)
    max_total_mib: int = spec(sources.MAX_TOTAL_MIB, ge=1)


def _cifar_local(cfg: Cifar10Config, raw_dir: Path) -> dict:
    path = sources.local_path(cfg.source, "data.cifar10.source")
    names = sources.list_members(path)
    firsts = [n for n in names if PurePosixPath(n).name == "data_batch_1"]
    if not firsts:
        raise SourceFailed(f"{path} holds no data_batch_1 (python-version CIFAR-10)")
    prefix = PurePosixPath(firsts[0]).parent
    wanted = [(prefix / b).as_posix() for b in CIFAR_BATCHES + ["batches.meta"]]
    missing = [w for w in wanted[:-1] if w not in names]
    if missing:
        raise SourceFailed(f"{path} lacks {missing}")
    sources.extract(path, [w for w in wanted if w in names], raw_dir / "cifar-10-batches-py",
                    sources.Limits.of(cfg, "data.cifar10"))
    return {"source": f"CIFAR-10 from local {path}", "path": str(path)}


def _cifar_torchvision(cfg: Cifar10Config, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    from torchvision.datasets import CIFAR10

    root = raw_dir / "torchvision"
    with sources.socket_timeout(cfg.timeout):
        CIFAR10(str(root), train=True, download=True)  # fetches + md5-checks + extracts the tar.gz
    shutil.move(root / "cifar-10-batches-py", raw_dir / "cifar-10-batches-py")
    shutil.rmtree(root)  # the 170 MB tar.gz duplicates the extracted batches
    return {"source": "full CIFAR-10 via torchvision (md5-checked)", "url": CIFAR10.url}


def download_cifar10(cfg: Cifar10Config, raw_dir: Path) -> dict:
    return sources.first_source("cifar10", raw_dir, [
        ("local path (data.cifar10.source)", lambda: _cifar_local(cfg, raw_dir)),
        ("torchvision CIFAR10 download", lambda: _cifar_torchvision(cfg, raw_dir)),
    ], "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and set "
       "data.cifar10.source: /path/to/cifar-10-python.tar.gz in params.yaml (the extracted "
       "cifar-10-batches-py folder works too), or allow the network with data.cifar10.download: true.")


def _unpickle(path: Path, keys: tuple[str, ...] = ()) -> dict:
    # CIFAR's python batches are pickles; a crafted one could run code, so only numpy arrays
    # and plain containers are admitted (safe_pickle). Keys are bytes in py2 pickles.
    d = safe_pickle.load(path, what="CIFAR-10 batch")
    if not isinstance(d, dict):
        raise DataError(f"{path}: holds a {type(d).__name__}, not a CIFAR-10 batch dict")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    missing = [k for k in keys if k not in d]
    if missing:
        raise DataError(f"{path}: lacks {missing}; not a CIFAR-10 batch")
    return d


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(path, ("data", "labels"))
    try:
        x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)  # rows are R|G|B planes
        y = np.asarray(d["labels"], dtype=np.int64)
    except (ValueError, TypeError) as err:
        raise DataError(f"{path}: data/labels are not CIFAR-10 shaped ({err})") from None
    if y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{path}: {len(x)} images but labels of shape {y.shape}")
    return x, y


def _cifar_folder(raw_dir: Path) -> Path:
    found = sorted(raw_dir.rglob("data_batch_1"))
    if not found:
        raise DataUnavailable(f"{raw_dir} holds no CIFAR-10 batches; run the download stage first")
    return found[0].parent


def preprocess_cifar10(cfg: Cifar10Config, raw_dir: Path) -> Processed:
    folder = _cifar_folder(raw_dir)
    parts = [_cifar_batch(folder / b) for b in CIFAR_BATCHES[:-1]]
    x_tr, y_tr = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_te, y_te = _cifar_batch(folder / "test_batch")
    if cfg.limit_train:
        x_tr, y_tr = x_tr[: cfg.limit_train], y_tr[: cfg.limit_train]  # batches are pre-shuffled
    names = CIFAR_CLASSES
    if (folder / "batches.meta").exists():
        raw = _unpickle(folder / "batches.meta").get("label_names", names)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    meta = {"name": "cifar10", "kind": "image", "shape": [3, 32, 32], "value_range": [0, 255],
            "binarized": False, "class_names": names,
            "source": sources.source_of(raw_dir, "CIFAR-10")["source"], "skipped": {},
            "limit_train": cfg.limit_train}
    return Processed(x_tr, y_tr, x_te, y_te, meta)


def preview_cifar10(cfg: Cifar10Config, raw_dir: Path, n: int, rng) -> RawPreview:
    """Originals from test_batch (all of it is x_test, whatever limit_train), stored as they are."""
    x, _ = _cifar_batch(_cifar_folder(raw_dir) / "test_batch")  # (N, 3, 32, 32) uint8
    return pick(len(x), n, rng, lambda i: Example(x[i].transpose(1, 2, 0), x[i]),
                "pickled batch,\nuint8 RGB 0–255")


# --- shared by the photo-folder datasets (cats, pistachios, tinyheroes.py) -------------------

def ingest(path: Path, raw_dir: Path, select, what: str, limits: sources.Limits) -> dict:
    """Extract the members `select(names)` picks from folder/zip/tar `path` to raw_dir/images;
    returns SOURCE-dict entries: the file count and what scan() left out."""
    listing = sources.scan(path)
    try:
        chosen = select(listing.names)
    except SourceFailed as err:  # select's reason, said of this path
        raise SourceFailed(f"{path} {err}") from None
    if not chosen:
        raise SourceFailed(f"{path} holds no {what}; {sources.found_folders(listing.names)}")
    n = sources.extract(path, chosen, raw_dir / IMAGES, limits, listing.sizes)
    return {"files": n, **listing.record()}


def local_source(cfg, key: str) -> Path:
    """The configured source; a file (zip/tar, whatever its name) is checked against
    `sha256` when one is set, a folder is not (it has no single checksum)."""
    path = sources.local_path(cfg.source, f"{key}.source")
    if path.is_file():
        sources.verify_sha256(path, cfg.sha256, f"{key}.sha256")
    return path


def archive_from_url(cfg, key: str, raw_dir: Path, select, what: str) -> dict:
    archive = sources.fetch_url(cfg.url, raw_dir / ".download.zip", cfg.sha256, cfg.timeout)
    try:
        return ingest(archive, raw_dir, select, what, sources.Limits.of(cfg, key))
    finally:
        archive.unlink(missing_ok=True)  # keep only the photos we use in DVC's cache


def photo_meta(name: str, cfg, source: str, report, split: str) -> dict:
    return {"name": name, "kind": "image", "shape": [3, cfg.size, cfg.size], "value_range": [0, 255],
            "binarized": False, "class_names": [], "labels": "none (-1): a single class",
            "source": source, "split": split, **report.meta()}


def _seeded_split(x: np.ndarray, test_size: float, seed: int):
    idx = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_size * len(x)))) if len(x) > 1 else 0
    return x[idx[n_test:]], x[idx[:n_test]]


def no_labels(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


def load_photos(raw_dir: Path, cfg, name: str, fallback: str):
    """(images, their names, IngestReport incl. members the download left out, source line)."""
    root = raw_dir / IMAGES
    if not root.is_dir():
        raise DataUnavailable(f"{root} does not exist; run the download stage for {name} first")
    x, names, report = load_folder(root, cfg.size, cfg.background, desc=name,
                                   max_pixels=cfg.max_pixels, max_aspect=cfg.max_aspect)
    src = sources.source_of(raw_dir, fallback)
    report.add_dropped(src.get("dropped_files", []))
    if len(x) < 2:
        raise DataUnavailable(f"{name}: only {len(x)} usable images among {report.n_files} files "
                              f"in {root}; skipped: {report.skipped}")
    return x, names, report, src["source"]


def preview_photos(cfg, raw_dir: Path, n: int, rng) -> RawPreview:
    return preview_folder(raw_dir / IMAGES, cfg.size, cfg.background, cfg.max_pixels, cfg.max_aspect, n, rng)


@dataclass(frozen=True)
class PhotoFolderConfig:
    """Fields shared by the photo-folder datasets (cats, pistachios); see each subclass."""

    source: str = ""
    download: bool = True
    url: str = ""
    sha256: str = ""
    size: int = spec(32, ge=4, le=512)
    test_size: float = spec(0.2, gt=0, lt=1)
    seed: int = spec(0, ge=0, le=SEED_MAX)
    background: tuple[int, ...] = (255, 255, 255)
    timeout: float = spec(30.0, gt=0)
    max_member_mib: int = spec(sources.MAX_MEMBER_MIB, ge=1)
    max_total_mib: int = spec(sources.MAX_TOTAL_MIB, ge=1)
    max_pixels: int = spec(MAX_PIXELS, ge=1)
    max_aspect: float = spec(MAX_ASPECT, ge=1)

    def validate(self, key: str) -> None:
        check_background(self.background, f"{key}.background")
        _check_sha(self.sha256, f"{key}.sha256")


# --- AFHQ cats --------------------------------------------------------------------------------

AFHQ_URL = "https://www.dropbox.com/s/t9l9o3vsx2jai3z/afhq.zip?dl=1"
AFHQ_SHA256 = "7f63dcc14ef58c0e849b59091287e1844da97016073aac20403ae6c6132b950f"


@dataclass(frozen=True)
class CatsConfig(PhotoFolderConfig):
    """AFHQ cat faces. source: afhq.zip or a folder laid out afhq/{train,val}/cat/*.jpg, or a
    flat folder/zip of cat images; tried first; "" = none. download: allow fetching `url`
    (default the public AFHQ archive: cats, dogs, wild). sha256: checksum of that archive and
    of a local .zip/.tar source ("" = unchecked; default AFHQ's, so another copy needs "").
    size: output side, pixels (default 32). test_size: held-out fraction when the source has
    no val split (default 0.1). seed: that split's seed. background: RGB 0..255 behind
    transparent pixels (default white). timeout: network timeout per socket operation, s.
    max_member_mib / max_total_mib: refuse an archive or folder whose files exceed this many
    MiB uncompressed each / in all (default 64 / 4096). max_pixels: skip images with more
    pixels, judged before decoding (default 50,000,000). max_aspect: skip images whose long
    side exceeds this × the short side (default 4.0)."""

    url: str = AFHQ_URL
    sha256: str = AFHQ_SHA256
    test_size: float = spec(0.1, gt=0, lt=1)


AFHQ_OTHER = {"afhq", "dog", "wild"}  # folders that mark an AFHQ layout


def _cat_members(names: list[str]) -> list[str]:
    """AFHQ's */cat/* members when present, else every file (a flat folder of cat photos) —
    unless the source is laid out like AFHQ without cats: dogs are not cats (SourceFailed)."""
    cats = sources.find_dir_members(names, "cat")
    if cats:
        return cats
    if any(AFHQ_OTHER & set(PurePosixPath(n).parts[:-1]) for n in names):
        raise SourceFailed(f"holds no afhq/*/cat/ images; {sources.found_folders(names)}")
    return names


def _cats_local(cfg: CatsConfig, raw_dir: Path) -> dict:
    path = local_source(cfg, "data.cats")
    got = ingest(path, raw_dir, _cat_members, "files", sources.Limits.of(cfg, "data.cats"))
    return {"source": f"AFHQ cats from local {path}", "path": str(path), **got}


def _cats_url(cfg: CatsConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    if not cfg.url:
        raise SourceFailed("no url set (data.cats.url)")
    got = archive_from_url(cfg, "data.cats", raw_dir, _cat_members, "files")
    return {"source": f"AFHQ cats downloaded from {cfg.url}", "url": cfg.url,
            "sha256": cfg.sha256 or "unchecked", **got}


def download_cats(cfg: CatsConfig, raw_dir: Path) -> dict:
    return sources.first_source("cats", raw_dir, [
        ("local path (data.cats.source)", lambda: _cats_local(cfg, raw_dir)),
        ("AFHQ archive download (data.cats.url)", lambda: _cats_url(cfg, raw_dir)),
    ], f"download afhq.zip ({AFHQ_URL}) on a machine with internet and set "
       "data.cats.source: /path/to/afhq.zip in params.yaml (a folder laid out "
       "afhq/{train,val}/cat/*.jpg, or a flat folder of cat images, works too).")


def preprocess_cats(cfg: CatsConfig, raw_dir: Path) -> Processed:
    x, names, report, src = load_photos(raw_dir, cfg, "cats", "AFHQ cats")
    parts = [set(PurePosixPath(n).parts[:-1]) for n in names]
    is_test = np.array([bool(p & {"val", "test"}) for p in parts])
    if any("train" in p for p in parts) and is_test.any():  # AFHQ's split: train → train, val → test
        x_tr, x_te, split = x[~is_test], x[is_test], "the source's train/val folders"
    else:
        x_tr, x_te = _seeded_split(x, cfg.test_size, cfg.seed)
        split = f"seeded random split, test_size={cfg.test_size}, seed={cfg.seed}"
    meta = photo_meta("cats", cfg, src, report, split)
    return Processed(x_tr, no_labels(len(x_tr)), x_te, no_labels(len(x_te)), meta)


# --- Pistachio Image Dataset (Kirmizi only) ---------------------------------------------------

KAGGLE_SLUG = "muratkokludataset/pistachio-image-dataset"
KAGGLE_TIMEOUT_S = 900  # the whole CLI download (pistachios ~50 MB)
KIRMIZI = "Kirmizi_Pistachio"


@dataclass(frozen=True)
class PistachioConfig(PhotoFolderConfig):
    """Pistachio Image Dataset, Kirmizi variety. source: the Kaggle zip or a folder holding a
    Kirmizi_Pistachio folder at any depth (or that folder itself); tried first; "" = none.
    download: allow the Kaggle CLI (when installed with credentials) and `url`. url: a zip of
    the dataset ("" = none); sha256: checksum of that zip and of a local .zip/.tar source
    ("" = unchecked). size: output side, pixels (default 32). test_size: held-out fraction
    (default 0.2). seed: split seed. background: RGB 0..255 behind transparent pixels.
    timeout: network timeout per socket operation, s.
    max_member_mib / max_total_mib: refuse an archive or folder whose files exceed this many
    MiB uncompressed each / in all (default 64 / 4096). max_pixels: skip images with more
    pixels, judged before decoding (default 50,000,000). max_aspect: skip images whose long
    side exceeds this × the short side (default 4.0)."""

    test_size: float = spec(0.2, gt=0, lt=1)


def _pistachio_local(cfg: PistachioConfig, raw_dir: Path) -> dict:
    path = local_source(cfg, "data.pistachios")

    def select(names):
        if path.is_dir() and path.name == KIRMIZI:
            return names  # the user pointed at the Kirmizi folder itself
        return sources.find_dir_members(names, KIRMIZI)

    got = ingest(path, raw_dir, select, f"folder named {KIRMIZI}", sources.Limits.of(cfg, "data.pistachios"))
    return {"source": f"Pistachio Image Dataset (Kirmizi) from local {path}", "path": str(path), **got}


def _kaggle_credentials() -> bool:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return True
    dirs = [os.environ.get("KAGGLE_CONFIG_DIR", ""), "~/.kaggle", "~/.config/kaggle"]
    return any(d and Path(os.path.expanduser(d), "kaggle.json").is_file() for d in dirs)


def kaggle_download(slug: str, raw_dir: Path, select, what: str, limits: sources.Limits) -> dict:
    """`kaggle datasets download <slug>` into raw_dir/.kaggle, then ingest its zip like a
    local source (same member selection, same caps); the zip itself is not kept."""
    exe = shutil.which("kaggle")
    if not exe:
        raise SourceFailed("the `kaggle` CLI is not installed (pip install kaggle)")
    if not _kaggle_credentials():
        raise SourceFailed("no Kaggle credentials (~/.kaggle/kaggle.json or KAGGLE_USERNAME/KAGGLE_KEY)")
    tmp = raw_dir / ".kaggle"
    tmp.mkdir()
    try:
        subprocess.run([exe, "datasets", "download", slug, "-p", str(tmp)], check=True,
                       capture_output=True, text=True, timeout=KAGGLE_TIMEOUT_S)
    except subprocess.CalledProcessError as err:
        tail = (err.stderr or err.stdout or "").strip()[-400:]
        raise SourceFailed(f"kaggle exited with {err.returncode}: {tail}") from None
    zips = sorted(tmp.glob("*.zip"))
    if not zips:
        raise SourceFailed(f"kaggle wrote no zip into {tmp}")
    got = ingest(zips[0], raw_dir, select, what, limits)
    shutil.rmtree(tmp)
    return got


def _pistachio_kaggle(cfg: PistachioConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    got = kaggle_download(KAGGLE_SLUG, raw_dir, lambda names: sources.find_dir_members(names, KIRMIZI),
                          f"folder named {KIRMIZI}", sources.Limits.of(cfg, "data.pistachios"))
    return {"source": f"Pistachio Image Dataset (Kirmizi) via Kaggle CLI ({KAGGLE_SLUG})", **got}


def _pistachio_url(cfg: PistachioConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    if not cfg.url:
        raise SourceFailed("no url set (data.pistachios.url)")
    got = archive_from_url(cfg, "data.pistachios", raw_dir,
                            lambda names: sources.find_dir_members(names, KIRMIZI), f"folder named {KIRMIZI}")
    return {"source": f"Pistachio Image Dataset (Kirmizi) downloaded from {cfg.url}", "url": cfg.url,
            "sha256": cfg.sha256 or "unchecked", **got}


def download_pistachios(cfg: PistachioConfig, raw_dir: Path) -> dict:
    return sources.first_source("pistachios", raw_dir, [
        ("local path (data.pistachios.source)", lambda: _pistachio_local(cfg, raw_dir)),
        (f"Kaggle CLI ({KAGGLE_SLUG})", lambda: _pistachio_kaggle(cfg, raw_dir)),
        ("download from data.pistachios.url", lambda: _pistachio_url(cfg, raw_dir)),
    ], f"download the Pistachio Image Dataset zip (https://www.kaggle.com/datasets/{KAGGLE_SLUG}) "
       "and set data.pistachios.source: /path/to/pistachio-image-dataset.zip in params.yaml "
       f"(any folder holding {KIRMIZI}/ works too), or install the kaggle CLI with credentials, "
       "or set data.pistachios.url to a zip of the dataset.")


def preprocess_pistachios(cfg: PistachioConfig, raw_dir: Path) -> Processed:
    x, _, report, src = load_photos(raw_dir, cfg, "pistachios", "Pistachio Image Dataset (Kirmizi)")
    x_tr, x_te = _seeded_split(x, cfg.test_size, cfg.seed)
    split = f"seeded random split, test_size={cfg.test_size}, seed={cfg.seed}"
    meta = photo_meta("pistachios", cfg, src, report, split)
    return Processed(x_tr, no_labels(len(x_tr)), x_te, no_labels(len(x_te)), meta)
