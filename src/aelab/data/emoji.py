"""Emoji: the Noto Color Emoji font rendered to (N, 3, S, S) uint8 RGB, fully offline.

Download copies the font into raw_dir and writes the list of code-point sequences to render:
the font's cmap (single code points) plus every sequence its GSUB ligatures form (skin
tones, ZWJ families/professions, flags, keycaps) — single code points alone give only ~1,400
emoji. Preprocess renders each sequence with Pillow at 109 px (the font's only bitmap
strike; raqm shapes the sequences into one glyph), composites it on `background`, crops to
the drawn content, pads to a centred square and resizes to S×S; empty renders and duplicate
images are dropped and counted in meta["skipped"].

Labels: the kind of emoji (flag, skin-tone variant, ZWJ sequence, else the Unicode block of
the single code point; LABEL_MEANING below) — a coarse, offline proxy for the emoji
category. A user `source` (folder/archive of emoji images) is labelled the same way
from code points in the file names (emoji_u1f600.png, 1f468-200d-1f469.png), else "Other
symbols"; its images are used as they are (centre-cropped and resized like photos).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.config import SEED_MAX, spec
from ..core.errors import DataUnavailable
from . import sources
from .contract import Processed
from .images import MAX_ASPECT, MAX_PIXELS, check_background, load_folder, preview_folder
from .preview import Example, RawPreview, pick
from .sources import SourceFailed

log = logging.getLogger(__name__)

SYSTEM_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")  # fonts-noto-color-emoji
STRIKE_PX = 109  # CBDT fonts only render at their bitmap strike size
SEQUENCES = "sequences.json"
IMAGES = "images"

# Labels describe what kind of emoji an image is, from its code points alone. Sequences are
# classed by structure first (order-free: the font also lists every ZWJ sequence with its
# segments reversed, for right-to-left text, so "the first code point" is ambiguous), then
# single code points by Unicode block.
BLOCKS = [  # (class name, first code point, last code point)
    ("Emoticons", 0x1F600, 0x1F64F),
    ("Misc Symbols and Pictographs", 0x1F300, 0x1F5FF),
    ("Transport and Map", 0x1F680, 0x1F6FF),
    ("Supplemental Symbols and Pictographs", 0x1F900, 0x1FAFF),  # incl. Extended-A
    ("Misc Symbols and Dingbats", 0x2600, 0x27BF),
]
CLASS_NAMES = [b[0] for b in BLOCKS] + ["Other symbols", "Skin-tone variants", "ZWJ sequences", "Flags"]
LABEL_MEANING = ("kind of emoji from its code points: 'Flags' (regional-indicator pairs, tag "
                 "sequences, ZWJ sequences with a flag), 'Skin-tone variants' (any sequence with "
                 "U+1F3FB..1F3FF), 'ZWJ sequences' (other sequences joined by U+200D); otherwise "
                 "the Unicode block of the single code point (variation selectors ignored; "
                 "keycaps, arrows, letters and other blocks → 'Other symbols')")
SKIN_TONES = range(0x1F3FB, 0x1F400)
TAGS = range(0xE0020, 0xE0080)
REGIONAL = range(0x1F1E6, 0x1F200)
FLAG_BASES = (0x1F3F3, 0x1F3F4)  # white/black flag: rainbow, pirate, England, …


@dataclass(frozen=True)
class EmojiConfig:
    """source: a folder/.zip/.tar of emoji images to use instead of rendering (labels from
    code points in the file names); tried first; "" = none. font: a colour-emoji font
    file (CBDT bitmaps at 109 px) instead of the system Noto Color Emoji; "" = system font.
    size: output side, pixels (default 32). background: RGB 0..255 behind the transparent
    parts (default white). test_size: held-out fraction, stratified by label (default 0.1).
    seed: that split's seed. For a `source` only: max_member_mib / max_total_mib: refuse one
    whose files exceed this many MiB uncompressed each / in all (default 64 / 4096);
    max_pixels: skip images with more pixels, judged before decoding (default 50,000,000);
    max_aspect: skip images whose long side exceeds this × the short side (default 4.0)."""

    source: str = ""
    font: str = ""
    size: int = spec(32, ge=4, le=136)
    background: tuple[int, ...] = (255, 255, 255)
    test_size: float = spec(0.1, gt=0, lt=1)
    seed: int = spec(0, ge=0, le=SEED_MAX)
    max_member_mib: int = spec(sources.MAX_MEMBER_MIB, ge=1)
    max_total_mib: int = spec(sources.MAX_TOTAL_MIB, ge=1)
    max_pixels: int = spec(MAX_PIXELS, ge=1)
    max_aspect: float = spec(MAX_ASPECT, ge=1)

    def validate(self, key: str) -> None:
        check_background(self.background, f"{key}.background")


# --- which sequences the font draws -----------------------------------------------------------

def font_sequences(font_path: Path) -> list[tuple[int, ...]]:
    """cmap code points + GSUB ligature sequences (lookup type 4), de-duplicated, sorted."""
    from fontTools.ttLib import TTFont

    with TTFont(str(font_path), lazy=True) as font:
        cmap = font["cmap"].getBestCmap()  # {code point: glyph name}
        seqs = {(cp,) for cp in cmap}
        glyph_cp: dict[str, int] = {}
        for cp, glyph in sorted(cmap.items()):
            glyph_cp.setdefault(glyph, cp)
        if "GSUB" in font:
            for lookup in font["GSUB"].table.LookupList.Lookup:
                if lookup.LookupType != 4:
                    continue
                for sub in lookup.SubTable:
                    for first, ligs in sub.ligatures.items():
                        for lig in ligs:
                            glyphs = [first, *lig.Component]
                            if all(g in glyph_cp for g in glyphs):
                                seqs.add(tuple(glyph_cp[g] for g in glyphs))
    return sorted(seqs, key=lambda s: (len(s), s))


def group_of(seq: tuple[int, ...]) -> int:
    """Label index in CLASS_NAMES for a code-point sequence (see LABEL_MEANING)."""
    core = tuple(c for c in seq if c not in (0xFE0E, 0xFE0F))  # presentation selectors
    if len(core) > 1 and (sum(c in REGIONAL for c in core) >= 2 or any(c in TAGS for c in core)
                          or any(c in FLAG_BASES for c in core)):
        return CLASS_NAMES.index("Flags")
    if len(core) > 1 and any(c in SKIN_TONES for c in core):
        return CLASS_NAMES.index("Skin-tone variants")
    if 0x200D in core:
        return CLASS_NAMES.index("ZWJ sequences")
    if core:
        for i, (_, lo, hi) in enumerate(BLOCKS):
            if lo <= core[0] <= hi:
                return i
    return CLASS_NAMES.index("Other symbols")


# --- download ---------------------------------------------------------------------------------

def _from_images(cfg: EmojiConfig, raw_dir: Path) -> dict:
    path = sources.local_path(cfg.source, "data.emoji.source")
    listing = sources.scan(path)
    n = sources.extract(path, listing.names, raw_dir / IMAGES, sources.Limits.of(cfg, "data.emoji"),
                        listing.sizes)
    if not n:
        raise SourceFailed(f"{path} holds no files")
    return {"source": f"emoji images from local {path}", "path": str(path), "files": n, **listing.record()}


def _from_font(font: Path, raw_dir: Path, what: str) -> dict:
    if not font.is_file():
        raise SourceFailed(f"{font} does not exist")
    from fontTools.ttLib import TTLibError

    try:
        seqs = font_sequences(font)
    except (TTLibError, AttributeError, KeyError) as err:  # not a font, or no cmap
        raise SourceFailed(f"{font} is not a readable font ({type(err).__name__}: {err})") from None
    shutil.copy2(font, raw_dir / font.name)
    data = {"font": font.name, "sequences": [" ".join(f"{c:04X}" for c in s) for s in seqs]}
    (raw_dir / SEQUENCES).write_text(json.dumps(data, indent=0) + "\n")
    return {"source": f"{what} ({font}) rendered with Pillow", "font": str(font), "sequences": len(seqs)}


def download_emoji(cfg: EmojiConfig, raw_dir: Path) -> dict:
    attempts = [("local images (data.emoji.source)", lambda: _from_images(cfg, raw_dir))]
    if cfg.font:
        user_font = Path(cfg.font).expanduser()
        attempts.append(("font (data.emoji.font)", lambda: _from_font(user_font, raw_dir, "font")))
    attempts.append(("system Noto Color Emoji font",
                     lambda: _from_font(SYSTEM_FONT, raw_dir, "Noto Color Emoji font")))
    return sources.first_source("emoji", raw_dir, attempts,
                                "`apt-get install fonts-noto-color-emoji`, or set data.emoji.font: "
                                "/path/to/NotoColorEmoji.ttf in params.yaml (or data.emoji.source: "
                                "a folder of emoji PNGs).")


# --- rendering --------------------------------------------------------------------------------

def render(text: str, font, size: int, background) -> np.ndarray | str:
    """One emoji → (3, size, size) uint8, or the reason it is unusable: nothing drawn, or
    the sequence did not shape into one glyph."""
    canvas = draw_glyph(text, font)
    return canvas if isinstance(canvas, str) else to_square(canvas, size, background)


def draw_glyph(text: str, font):
    """One emoji as the font draws it at its strike: an RGBA image of its text box
    (~136×128 px for Noto, transparent around the picture), or why it is unusable."""
    from PIL import Image, ImageDraw

    first = font.getlength(text[0])  # one glyph's advance (136 px for Noto)
    if len(text) > 1 and first > 0 and font.getlength(text) > 1.5 * first:
        return "not one glyph"  # the font has no ligature for it: several pictures in a row
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, embedded_color=True)
    if right <= left or bottom <= top:
        return "renders empty"
    canvas = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), text, font=font, embedded_color=True)
    return canvas


def to_square(canvas, size: int, background) -> np.ndarray | str:
    """A drawn glyph → (3, size, size) uint8: cropped to its content, on `background`."""
    from PIL import Image

    box = canvas.getchannel("A").getbbox()  # the drawn content
    if box is None:
        return "renders empty"
    w, h = box[2] - box[0], box[3] - box[1]
    side = max(w, h)  # pad to a centred square so the aspect ratio survives the resize
    square = Image.new("RGBA", (side, side), (*background, 255))
    square.alpha_composite(canvas.crop(box), ((side - w) // 2, (side - h) // 2))
    out = square.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(out, dtype=np.uint8).transpose(2, 0, 1).copy()


def open_font(path: Path):
    """The font copied into raw_dir, at its bitmap strike, shaped by raqm where Pillow has it."""
    from PIL import ImageFont, features

    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    if engine != ImageFont.Layout.RAQM:
        log.warning("Pillow lacks raqm: multi-code-point emoji cannot be shaped and will be skipped")
    try:
        return ImageFont.truetype(str(path), STRIKE_PX, layout_engine=engine)
    except OSError as err:  # e.g. a bitmap font without a 109 px strike
        raise DataUnavailable(f"cannot render {path.name} at {STRIKE_PX} px: {err}") from None


def render_font(raw_dir: Path, size: int, background) -> tuple[np.ndarray, np.ndarray, list[str], dict]:
    """Render every listed sequence → (x (N,3,S,S), labels (N,), sequences kept, skip counts)."""
    from tqdm import tqdm

    data = json.loads((raw_dir / SEQUENCES).read_text())
    font = open_font(raw_dir / data["font"])
    images, labels, kept, seen = [], [], [], set()
    skipped = {"renders empty": 0, "not one glyph": 0, "layout failed": 0, "duplicate image": 0}
    for hexes in tqdm(data["sequences"], desc="emoji", unit="glyph", disable=None, mininterval=5):
        seq = tuple(int(h, 16) for h in hexes.split())
        try:
            x = render("".join(map(chr, seq)), font, size, background)
        except (RuntimeError, OSError, ValueError):  # raqm rejects control characters such as U+000D
            skipped["layout failed"] += 1
            continue
        if isinstance(x, str):
            skipped[x] += 1
            continue
        digest = x.tobytes()
        if digest in seen:  # e.g. a sequence with and without U+FE0F draws the same glyph
            skipped["duplicate image"] += 1
            continue
        seen.add(digest)
        images.append(x)
        labels.append(group_of(seq))
        kept.append(hexes)
    if len(images) < 2:
        raise DataUnavailable(f"the font {data['font']} rendered {len(images)} usable emoji; skipped: {skipped}")
    return np.stack(images), np.asarray(labels, np.int64), kept, {k: v for k, v in skipped.items() if v}


HEX_RUN = re.compile(r"(?<![0-9a-f])(?:u)?([0-9a-f]{4,6})(?![0-9a-f])")


def labels_from_names(names: list[str]) -> np.ndarray:
    """'emoji_u1f468_200d_1f469.png' → group_of((0x1F468, 0x200D, 0x1F469)); no hex → Other."""
    out = []
    for n in names:
        stem = PurePosixPath(n).stem.lower()
        out.append(group_of(tuple(int(h, 16) for h in HEX_RUN.findall(stem))))
    return np.asarray(out, np.int64)


# --- preprocess -------------------------------------------------------------------------------

def _split(x, y, test_size: float, seed: int):
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y, minlength=len(CLASS_NAMES))
    stratify = y if counts[counts > 0].min() >= 2 else None  # sklearn needs ≥2 per class
    return train_test_split(x, y, test_size=test_size, stratify=stratify, random_state=seed)


def preprocess_emoji(cfg: EmojiConfig, raw_dir: Path) -> Processed:
    src = sources.source_of(raw_dir, "Noto Color Emoji font rendered with Pillow")
    if (raw_dir / IMAGES).is_dir():
        x, names, report = load_folder(raw_dir / IMAGES, cfg.size, cfg.background, desc="emoji",
                                       max_pixels=cfg.max_pixels, max_aspect=cfg.max_aspect)
        report.add_dropped(src.get("dropped_files", []))  # links etc. the download left out
        if len(x) < 2:
            raise DataUnavailable(f"emoji: only {len(x)} usable images in {raw_dir / IMAGES}; "
                                  f"skipped: {report.skipped}")
        y, extra = labels_from_names(names), report.meta()
    elif (raw_dir / SEQUENCES).exists():
        x, y, kept, skipped = render_font(raw_dir, cfg.size, cfg.background)
        extra = {"skipped": skipped, "n_sequences": len(kept) + sum(skipped.values())}
    else:
        raise DataUnavailable(f"{raw_dir} holds neither {SEQUENCES} nor {IMAGES}/; run the download stage first")
    x_tr, x_te, y_tr, y_te = _split(x, y, cfg.test_size, cfg.seed)
    meta = {"name": "emoji", "kind": "image", "shape": [3, cfg.size, cfg.size], "value_range": [0, 255],
            "binarized": False, "class_names": CLASS_NAMES, "labels": LABEL_MEANING,
            "source": src["source"], "background": list(cfg.background),
            "class_counts": dict(zip(CLASS_NAMES, np.bincount(y, minlength=len(CLASS_NAMES)).tolist())),
            **extra}
    return Processed(x_tr, y_tr, x_te, y_te, meta)


def preview_emoji(cfg: EmojiConfig, raw_dir: Path, n: int, rng) -> RawPreview:
    """Raw glyphs as the font draws them (or the source's files) and their S×S renders."""
    if (raw_dir / IMAGES).is_dir():
        return preview_folder(raw_dir / IMAGES, cfg.size, cfg.background, cfg.max_pixels,
                              cfg.max_aspect, n, rng)
    data = json.loads((raw_dir / SEQUENCES).read_text())
    font, seqs = open_font(raw_dir / data["font"]), data["sequences"]

    def make(i: int) -> Example | None:
        try:  # what render_font does, keeping the glyph as drawn
            glyph = draw_glyph("".join(chr(int(h, 16)) for h in seqs[i].split()), font)
            x = glyph if isinstance(glyph, str) else to_square(glyph, cfg.size, cfg.background)
        except (RuntimeError, OSError, ValueError):
            return None
        if isinstance(x, str):  # skipped by render_font too
            return None
        return Example(np.asarray(glyph), x, note=f"{glyph.width}×{glyph.height} RGBA")

    return pick(len(seqs), n, rng, make, f"{data['font']}\nglyph at {STRIKE_PX} px")
