"""Defensive ingestion of a folder of image files into uint8 (N, 3, S, S) arrays.

Real image folders hold zero-byte files, truncated JPEGs, text files, palette/grayscale/
CMYK/16-bit/transparent images and EXIF-rotated photos. Each file is either loaded (after
the handling below) or skipped with a reason; `IngestReport.meta()` records both per file,
so nothing is silent and nothing crashes:

  symlink             → skipped "symlink" (never followed)
  zero bytes          → skipped "empty file"
  PIL cannot identify → skipped "not an image"
  over max_pixels     → skipped "too large", judged from the header's size before any
                        decoding (PIL's own DecompressionBombError is caught the same way)
  long side > max_aspect × short side → skipped "extreme aspect ratio": the centre square
                        of a 20×900 strip is 2 % of it — a banner or a broken file, not a
                        photo of the subject
  same pixels as an earlier file (after resizing) → skipped "duplicate of <first>", so
                        copies cannot sit in both train and test
  truncated data      → skipped "truncated" (detected by img.load(); we never set
                        ImageFile.LOAD_TRUNCATED_IMAGES, which would hide it)
  other decode errors → skipped "corrupt" / "too large" / "unsupported mode <m>"
  EXIF orientation    → ImageOps.exif_transpose, counted as "exif_rotated"
  RGBA/LA/PA/P or any mode with a transparency key → composited on `background`
  I;16/I (16-bit)     → scaled 0..65535 → 0..255 (divide by 257; clipping would saturate)
  F (float)           → [0, 1] scaled by 255, otherwise clipped to 0..255
  L/1/P/CMYK/YCbCr…  → PIL's convert("RGB")
Each kept image is center-cropped to a square and resized to S×S (Lanczos). One whose
short side is under S is kept (upscaling blurs but keeps the subject) and recorded in
`upscaled_files` as "upscaled from W×H".
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .preview import Example, RawPreview, pick

log = logging.getLogger(__name__)

MAX_RECORDS = 1000  # per-file lists in meta are capped; the counts are always complete
MAX_PIXELS = 50_000_000  # default max_pixels: a 50 MP photo is ~150 MB decoded; AFHQ is 512², pistachios 600²
MAX_ASPECT = 4.0  # default max_aspect (long side / short side)
PREVIEW_PX = 256  # originals are shrunk to this long side for the preview figure only
TRANSPARENT_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
EXIF_ORIENTATION = 0x0112


class Skip(Exception):
    """A file that cannot be used; the message is the reason recorded per file, `kind` the
    key it is counted under (the reason itself when it carries no per-file detail)."""

    def __init__(self, reason: str, kind: str | None = None):
        super().__init__(reason)
        self.kind = kind or reason


@dataclass
class IngestReport:
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[dict] = field(default_factory=list)
    converted: dict[str, int] = field(default_factory=dict)
    converted_files: list[dict] = field(default_factory=list)
    exif_rotated_files: list[str] = field(default_factory=list)
    upscaled_files: list[dict] = field(default_factory=list)
    n_files: int = 0

    def skip(self, rel: str, reason: str, kind: str | None = None) -> None:
        kind = kind or reason
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        self.skipped_files.append({"file": rel, "reason": reason})

    def add_dropped(self, records: list[dict]) -> None:
        """Members the download stage left out of an archive (sources.scan): counted as files."""
        for r in records:
            self.n_files += 1
            self.skip(r["file"], r["reason"])

    def convert(self, rel: str, mode: str) -> None:
        self.converted[mode] = self.converted.get(mode, 0) + 1
        self.converted_files.append({"file": rel, "mode": mode})

    def meta(self) -> dict:
        lists = {"skipped_files": self.skipped_files, "converted_files": self.converted_files,
                 "exif_rotated_files": self.exif_rotated_files, "upscaled_files": self.upscaled_files}
        out = {"n_files": self.n_files, "skipped": dict(sorted(self.skipped.items())),
               "converted": dict(sorted(self.converted.items())),
               "exif_rotated": len(self.exif_rotated_files), "upscaled": len(self.upscaled_files)}
        out.update({k: v[:MAX_RECORDS] for k, v in lists.items()})
        out["records_truncated"] = any(len(v) > MAX_RECORDS for v in lists.values())
        return out


def check_background(bg: tuple[int, ...], key: str) -> None:
    """Config validation shared by every dataset with a `background` field."""
    from ..core.errors import ConfigError

    if len(bg) != 3 or any(not 0 <= c <= 255 for c in bg):
        raise ConfigError(key, f"must be 3 integers in 0..255 (R, G, B), got {list(bg)}")


def image_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(regular files, symlinks) under root, each sorted by relative path (order = array
    order). Linked folders are not entered, linked files not read."""
    files, links = [], []
    for p in root.rglob("*"):
        if p.is_symlink():
            links.append(p)
        elif p.is_file():
            files.append(p)
    key = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    return sorted(files, key=key), sorted(links, key=key)


def load_folder(root: Path, size: int, background: tuple[int, ...] = (255, 255, 255),
                desc: str = "images", max_pixels: int = MAX_PIXELS,
                max_aspect: float = MAX_ASPECT) -> tuple[np.ndarray, list[str], IngestReport]:
    """All usable images under root → ((N, 3, size, size) uint8, relative names, report)."""
    from tqdm import tqdm

    files, links = image_files(root)
    report = IngestReport(n_files=len(files) + len(links))
    for link in links:
        report.skip(link.relative_to(root).as_posix(), "symlink")
    arrays, names, first_of = [], [], {}
    for path in tqdm(files, desc=desc, unit="img", disable=None, mininterval=5):
        rel = path.relative_to(root).as_posix()
        try:
            img = load_image(path, size, background, max_pixels, max_aspect)
            digest = hashlib.sha1(img.x.tobytes()).hexdigest()
            if digest in first_of:
                raise Skip(f"duplicate of {first_of[digest]}", "duplicate")
        except Skip as why:
            report.skip(rel, str(why), why.kind)
            continue
        first_of[digest] = rel
        if img.converted is not None:
            report.convert(rel, img.converted)
        if img.rotated:
            report.exif_rotated_files.append(rel)
        if min(img.original) < size:
            report.upscaled_files.append({"file": rel, "note": "upscaled from {}×{}".format(*img.original)})
        arrays.append(img.x)
        names.append(rel)
    if report.skipped:
        log.warning("%s: skipped %d of %d files: %s", desc, sum(report.skipped.values()),
                    report.n_files, report.skipped)
    x = np.stack(arrays) if arrays else np.zeros((0, 3, size, size), np.uint8)
    return x, names, report


@dataclass(frozen=True)
class Loaded:
    x: np.ndarray  # (3, size, size) uint8
    converted: str | None  # the original mode when it was not plain RGB
    rotated: bool  # EXIF orientation applied
    original: tuple[int, int]  # (width, height) upright, before cropping/resizing


def load_image(path: Path, size: int, background=(255, 255, 255), max_pixels: int = MAX_PIXELS,
               max_aspect: float = MAX_ASPECT) -> Loaded:
    """One file → Loaded; raises Skip(reason) for files that cannot be used."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        raise Skip("empty file")
    try:
        with Image.open(path) as img:  # reads the header only: size is known, nothing decoded
            _check_size(img.size, max_pixels, max_aspect)
            if img.format == "JPEG":
                img.draft(None, (2 * size, 2 * size))  # DCT-domain downscale: 512² JPEGs decode ~4× faster
            img.load()  # decodes everything: this is where truncation shows
            img, rotated = _exif_upright(img)
            rgb, converted = to_rgb(img, background)
            original = tuple(img.size)  # upright: exif_transpose has been applied
    except UnidentifiedImageError:
        raise Skip("not an image") from None
    except Image.DecompressionBombError:  # PIL's own cap (2 × Image.MAX_IMAGE_PIXELS) at open
        raise Skip("too large") from None
    except (OSError, SyntaxError, EOFError, ValueError) as err:  # what PIL raises for bad data
        raise Skip("truncated" if "truncated" in str(err).lower() else "corrupt") from None
    return Loaded(square_resize(rgb, size), converted, rotated, original)


def _check_size(wh: tuple[int, int], max_pixels: int, max_aspect: float) -> None:
    w, h = wh
    if w < 1 or h < 1:
        raise Skip("corrupt")
    if w * h > max_pixels:
        raise Skip(f"too large: {w}×{h} = {w * h / 1e6:,.1f} M pixels, over max_pixels {max_pixels:,}",
                   "too large")
    if max(w, h) > max_aspect * min(w, h):
        raise Skip(f"extreme aspect ratio {w}×{h} (over {max_aspect:g}:1)", "extreme aspect ratio")


def _exif_upright(img):
    """Apply the EXIF orientation tag (phones store rotated sensor data plus this tag)."""
    from PIL import ImageOps

    try:
        orientation = img.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError):  # unreadable EXIF: keep pixels as stored
        return img, False
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(img), True
    return img, False


def to_rgb(img, background=(255, 255, 255)):
    """Any PIL mode → (RGB image, original mode or None when it was RGB already)."""
    from PIL import Image

    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img, None
    if mode in TRANSPARENT_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", img.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB"), mode
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_deep_to_uint8(img)).convert("RGB"), mode
    try:
        return img.convert("RGB"), mode
    except ValueError:
        raise Skip(f"unsupported mode {mode}") from None


def _deep_to_uint8(img) -> np.ndarray:
    """16/32-bit integer or float pixels → uint8 (H, W) by scaling, not clipping."""
    a = np.asarray(img).astype(np.float64)
    if img.mode.startswith("I;16") or (img.mode == "I" and a.size and a.max() > 255):
        a = a / 257.0  # 65535 → 255
    elif img.mode == "F" and a.size and a.max() <= 1.0:
        a = a * 255.0
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def square_resize(img, size: int) -> np.ndarray:
    """Center-crop to the largest square, resize to size×size → (3, size, size) uint8."""
    from PIL import Image

    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    out = img.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + s, top + s))
    return np.asarray(out, dtype=np.uint8).transpose(2, 0, 1).copy()


def preview_folder(root: Path, size: int, background, max_pixels: int, max_aspect: float,
                   n: int, rng) -> RawPreview:
    """Seeded files of `root` as stored (no EXIF turn, no compositing) and through load_image;
    files load_image skips are skipped here too."""
    files, _ = image_files(root)

    def make(i: int) -> Example | None:
        try:
            x = load_image(files[i], size, background, max_pixels, max_aspect).x  # (3, S, S)
        except Skip:
            return None
        shown, note = _as_stored(files[i])
        return Example(shown, x, note)

    return pick(len(files), n, rng, make, "image files\n(size, format, mode above)")


def _as_stored(path: Path) -> tuple[np.ndarray, str]:
    """One file as stored → ((H, W[, 3|4]) uint8 to draw, "W×H FORMAT MODE"); called only on
    files load_image accepted, so its size checks have passed and it decodes."""
    from PIL import Image

    with Image.open(path) as img:
        note = f"{img.width}×{img.height} {img.format} {img.mode}"
        if img.mode.startswith("I") or img.mode == "F":  # 16/32-bit: matplotlib draws uint8
            img = Image.fromarray(_deep_to_uint8(img))
        img.thumbnail((PREVIEW_PX, PREVIEW_PX))  # JPEG: decoded at reduced size (draft)
        if img.mode not in ("L", "RGB", "RGBA"):
            img = img.convert("RGBA")
        return np.asarray(img, dtype=np.uint8), note
