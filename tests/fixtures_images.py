"""Builders of small fake datasets and messy image folders for tests/test_data_sources.py.

Plain functions (not pytest fixtures) so any test module can import them without name clashes.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

RED, BLUE = (255, 0, 0), (0, 0, 255)


def noisy_rgb(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def exif6_jpeg(w: int = 48, h: int = 24) -> bytes:
    """Stored w×h (landscape), left half red, right half blue, EXIF orientation 6
    (display = stored rotated 90° clockwise → portrait, red on top, blue at the bottom)."""
    img = Image.new("RGB", (w, h), BLUE)
    img.paste(RED, (0, 0, w // 2, h))
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(img, exif=exif.tobytes())


# name → (expected outcome, "skip:<reason>" | "convert:<mode>" | "ok" | "rotated")
MESSY_EXPECTED = {
    "a_rgb.jpg": "ok",
    "b_truncated.jpg": "skip:truncated",
    "c_empty.jpg": "skip:empty file",
    "d_rgba.png": "convert:RGBA",
    "e_palette.png": "convert:P",
    "f_gray.png": "convert:L",
    "g_16bit.png": "convert:I;16",
    "h_cmyk.jpg": "convert:CMYK",
    "i_exif6.jpg": "rotated",
    "j_notes.txt": "skip:not an image",
    "sub/k_rgb.png": "ok",
}
GRAY16 = 32896  # = 128 × 257: scaled → 128; clipped it would read 255


def make_messy_folder(root: Path) -> Path:
    """One file per case of images.py's handling table (see MESSY_EXPECTED)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "a_rgb.jpg").write_bytes(jpeg_bytes(noisy_rgb(40, 30, 1)))
    whole = jpeg_bytes(noisy_rgb(64, 64, 2))
    (root / "b_truncated.jpg").write_bytes(whole[: int(len(whole) * 0.6)])
    (root / "c_empty.jpg").write_bytes(b"")
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))  # left half transparent, right opaque green
    rgba.paste((0, 200, 0, 255), (10, 0, 20, 20))
    rgba.save(root / "d_rgba.png")
    noisy_rgb(20, 20, 3).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(root / "e_palette.png")
    Image.new("L", (20, 20), 77).save(root / "f_gray.png")
    Image.fromarray(np.full((20, 24), GRAY16, np.uint16)).save(root / "g_16bit.png")  # mode I;16
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(root / "h_cmyk.jpg")  # pure red in CMYK
    (root / "i_exif6.jpg").write_bytes(exif6_jpeg())
    (root / "j_notes.txt").write_text("not a picture\n")
    (root / "sub").mkdir(exist_ok=True)
    noisy_rgb(20, 20, 4).save(root / "sub" / "k_rgb.png")
    return root


# --- fake archives in the real layouts --------------------------------------------------------

def cifar_arrays(n_per_batch: int = 4):
    """Deterministic fake batches: {batch name: (data (n, 3072) uint8, labels list)}."""
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {b: (rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                [int(v) for v in rng.integers(0, 10, n_per_batch)]) for b in names}


def make_cifar_tar(path: Path, batches: dict) -> Path:
    """cifar-10-python.tar.gz as torchvision downloads it: bytes-keyed py2-style pickles."""
    with tarfile.open(path, "w:gz") as tf:
        def add(name: str, obj) -> None:
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        for name, (data, labels) in batches.items():
            add(name, {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                       b"filenames": [b"x.png"] * len(labels)})
        add("batches.meta", {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                              b"dog", b"frog", b"horse", b"ship", b"truck"]})
        readme = b"fake cifar\n"
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = len(readme)
        tf.addfile(info, io.BytesIO(readme))
    return path


def make_afhq_zip(path: Path, n_train: int = 6, n_val: int = 2) -> Path:
    """afhq.zip layout afhq/{train,val}/{cat,dog}/*.jpg plus one zero-byte cat file; every
    cat distinct (val seeds start at 50), so none is dropped as a duplicate."""
    with zipfile.ZipFile(path, "w") as zf:
        for split, n, seed0 in (("train", n_train, 0), ("val", n_val, 50)):
            for i in range(n):
                zf.writestr(f"afhq/{split}/cat/flickr_cat_{i:06d}.jpg",
                            jpeg_bytes(noisy_rgb(64, 64, seed0 + i)))
            zf.writestr(f"afhq/{split}/dog/flickr_dog_000000.jpg", jpeg_bytes(noisy_rgb(64, 64, 99)))
        zf.writestr("afhq/train/cat/zz_broken.jpg", b"")
        zf.writestr("__MACOSX/afhq/train/cat/._flickr_cat_000000.jpg", b"\0\5\26\7 AppleDouble")
    return path


def make_pistachio_folder(root: Path, n_kirmizi: int = 5, n_siirt: int = 3) -> Path:
    base = root / "Pistachio_Image_Dataset" / "Pistachio_Image_Dataset"
    for variety, n in (("Kirmizi_Pistachio", n_kirmizi), ("Siirt_Pistachio", n_siirt)):
        (base / variety).mkdir(parents=True)
        for i in range(n):
            (base / variety / f"{variety.split('_')[0].lower()} ({i + 1}).jpg").write_bytes(
                jpeg_bytes(noisy_rgb(60, 60, i)))
    (root / "Pistachio_Image_Dataset" / "Pistachio_Image_Dataset_Request.txt").write_text("cite us\n")
    return root


# --- hostile archives and headers (tests/test_hostile_archives.py) ----------------------------

def png_header(w: int, h: int) -> bytes:
    """A PNG that declares w×h RGB pixels but holds no image data: PIL's open() reads the
    size from it; decoding would fail. Proves a size check happens before decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def add_tar_file(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def make_hostile_afhq_tar(path: Path, outside: str) -> Path:
    """afhq/train/cat + afhq/val/cat with 3 good cats, plus one of each member that must
    never be extracted: a symlink to `outside`, a hard link, two path-traversal names."""
    with tarfile.open(path, "w") as tf:
        for split, i in (("train", 0), ("train", 1), ("val", 2)):
            add_tar_file(tf, f"afhq/{split}/cat/cat_{i}.jpg", jpeg_bytes(noisy_rgb(40, 40, 10 + i)))
        link = tarfile.TarInfo("afhq/train/cat/evil_symlink.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, outside
        tf.addfile(link)
        hard = tarfile.TarInfo("afhq/train/cat/evil_hardlink.jpg")
        hard.type, hard.linkname = tarfile.LNKTYPE, "afhq/train/cat/cat_0.jpg"
        tf.addfile(hard)
        add_tar_file(tf, "afhq/train/cat/../../../../escaped.jpg", jpeg_bytes(noisy_rgb(40, 40, 20)))
        add_tar_file(tf, "/tmp/aelab_absolute_escape.jpg", jpeg_bytes(noisy_rgb(40, 40, 21)))
    return path


def zip_symlink(zf: zipfile.ZipFile, name: str, target: str) -> None:
    """A zip member flagged as a unix symlink (what `zip --symlinks` writes)."""
    import stat

    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix: external_attr's high 16 bits are st_mode
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)
