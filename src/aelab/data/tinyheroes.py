"""TinyHero: 64×64 RGBA pixel-art heroes, each drawn facing four directions (opt-in).

The set: 912 randomly generated characters (sex, body type, skin, equipment) rendered with
the Universal LPC spritesheet, each stored once per facing direction as
`<dir>/<hero>.png`, the same hero number in every direction folder. It was published at
https://github.com/AgaMiko/pixel_character_generator (`data/{0,1,2,3}/*.png`, CC-BY-SA 3.0 /
GPL 3.0 as LPC art) and re-uploaded to Kaggle as "TinyHero" (`calmness/retro-pixel-characters-
generator`; its zip nests the same folders, `data/data/{0,1,2,3}/`, as code reading it shows).

Which folder faces which way is not written in the original README (it only shows the
folders in the order 1, 2, 3, 0); three independent users of the set agree:
  - a notebook citing the Kaggle set: "0 - Back, 1 - Left, 2 - Front, 3 - Right";
  - fegemo/pixel-sides (the TinyHero experiments of "Generating Pixel Art Character Sprites
    using GANs", arXiv 2208.06413) renames them `0-back`, `1-left`, `2-front`, `3-right`
    (configuration.py, 912 characters in its "tiny-hero" folder);
  - a video model reading the Kaggle zip takes folder 1 as left, 2 as centre, 3 as right.
So "front" is folder `2` (or `2-front` in pixel-sides' copy); both spellings are accepted.

Sources, in order (DESIGN.md §2): `source` (folder, .zip or .tar), then `url` (default: a
GitHub archive of the original repository at a pinned commit; GitHub builds archives on
the fly, so no sha256 is pinned by default), then the Kaggle CLI when it has credentials.
Only the folders of the configured `directions` are extracted; sprites go through
images.py like every photo folder (transparent pixels composited over `background`, odd
or broken files skipped with a record).

Labels: the set has no class per hero. With one direction (the default, front only) the
labels are −1 and class_names [] as for cats; with several, the label is the index of the
image's direction in `directions` and class_names are those directions. The train/test
split is seeded and by hero, so the directions of one hero never straddle it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np

from ..core.config import spec
from ..core.errors import ConfigError
from . import sources
from .contract import Processed
from .photos import (PhotoFolderConfig, archive_from_url, ingest, kaggle_download, load_photos,
                     local_source, no_labels, photo_meta)
from .sources import SourceFailed

REPO = "https://github.com/AgaMiko/pixel_character_generator"
COMMIT = "75d48ea6a2a37659f913f143958a401a7c3d077d"  # a commit whose tree holds data/{0,1,2,3}
TINYHERO_URL = f"{REPO}/archive/{COMMIT}.zip"
KAGGLE_SLUG = "calmness/retro-pixel-characters-generator"

Direction = Literal["back", "left", "front", "right"]
# Folder names that hold each direction: the original numbering, and pixel-sides' names.
DIRECTION_FOLDERS: dict[str, tuple[str, ...]] = {
    "back": ("0", "0-back"), "left": ("1", "1-left"), "front": ("2", "2-front"), "right": ("3", "3-right"),
}
FOLDER_DIRECTION = {folder: d for d, folders in DIRECTION_FOLDERS.items() for folder in folders}


@dataclass(frozen=True)
class TinyHeroesConfig(PhotoFolderConfig):
    """TinyHero pixel-art sprites. source: a zip/tar or folder holding the direction folders
    (0/1/2/3, or 0-back/1-left/2-front/3-right) at any depth; tried first; "" = none.
    download: allow fetching `url`, then the Kaggle CLI (when installed with credentials).
    url: a zip of the set (default: the original GitHub repository at a pinned commit;
    "" = none). sha256: checksum of that zip and of a local .zip/.tar source ("" =
    unchecked; GitHub archives are generated on request, so none is pinned).
    directions: facing directions kept, a list of back/left/front/right (default [front];
    "front" = folder 2). size: output side, pixels (default 32; the sprites are 64×64).
    test_size: held-out fraction of heroes (default 0.2). seed: that split's seed.
    background: RGB 0..255 behind transparent pixels (default white; the sprites are RGBA
    on a transparent ground). timeout: network timeout per socket operation, s.
    max_member_mib / max_total_mib: refuse an archive or folder whose files exceed this many
    MiB uncompressed each / in all (default 64 / 4096). max_pixels: skip images with more
    pixels, judged before decoding (default 50,000,000). max_aspect: skip images whose long
    side exceeds this × the short side (default 4.0)."""

    url: str = TINYHERO_URL
    directions: tuple[Direction, ...] = ("front",)
    test_size: float = spec(0.2, gt=0, lt=1)

    def validate(self, key: str) -> None:
        super().validate(key)
        if not self.directions:
            raise ConfigError(f"{key}.directions", "must name at least one of back, left, front, right")
        if len(set(self.directions)) != len(self.directions):
            raise ConfigError(f"{key}.directions", f"lists a direction twice: {list(self.directions)}")


def direction_of(name: str) -> str | None:
    """The facing direction of a member, from the folder it lies in (None: not a sprite folder)."""
    return FOLDER_DIRECTION.get(PurePosixPath(name).parent.name)


def _what(cfg: TinyHeroesConfig) -> str:
    folders = [f for d in cfg.directions for f in DIRECTION_FOLDERS[d]]
    return f"{'/'.join(cfg.directions)} sprites (a folder named {' or '.join(folders)})"


def _select(cfg: TinyHeroesConfig):
    return lambda names: [n for n in names if direction_of(n) in cfg.directions]


def _ingest_sprites(cfg: TinyHeroesConfig, path: Path, raw_dir: Path) -> dict:
    return ingest(path, raw_dir, _select(cfg), _what(cfg), sources.Limits.of(cfg, "data.tinyheroes"))


def _local(cfg: TinyHeroesConfig, raw_dir: Path) -> dict:
    path = local_source(cfg, "data.tinyheroes")
    return {"source": f"TinyHero sprites from local {path}", "path": str(path),
            **_ingest_sprites(cfg, path, raw_dir)}


def _url(cfg: TinyHeroesConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    if not cfg.url:
        raise SourceFailed("no url set (data.tinyheroes.url)")
    got = archive_from_url(cfg, "data.tinyheroes", raw_dir, _select(cfg), _what(cfg))
    return {"source": f"TinyHero sprites downloaded from {cfg.url}", "url": cfg.url,
            "sha256": cfg.sha256 or "unchecked", **got}


def _kaggle(cfg: TinyHeroesConfig, raw_dir: Path) -> dict:
    sources.require_download(cfg.download)
    got = kaggle_download(KAGGLE_SLUG, raw_dir, _select(cfg), _what(cfg),
                          sources.Limits.of(cfg, "data.tinyheroes"))
    return {"source": f"TinyHero sprites via Kaggle CLI ({KAGGLE_SLUG})", **got}


def download_tinyheroes(cfg: TinyHeroesConfig, raw_dir: Path) -> dict:
    return sources.first_source("tinyheroes", raw_dir, [
        ("local path (data.tinyheroes.source)", lambda: _local(cfg, raw_dir)),
        ("download from data.tinyheroes.url", lambda: _url(cfg, raw_dir)),
        (f"Kaggle CLI ({KAGGLE_SLUG})", lambda: _kaggle(cfg, raw_dir)),
    ], f"download the TinyHero sprites ({REPO}, or the Kaggle zip "
       f"https://www.kaggle.com/datasets/{KAGGLE_SLUG}) and set data.tinyheroes.source: "
       "/path/to/the.zip in params.yaml (any folder holding the direction folders 0/1/2/3 "
       "works too), or allow the network with data.tinyheroes.download: true.")


def _hero_split(heroes: list[str], test_size: float, seed: int) -> np.ndarray:
    """Boolean test mask: a seeded `test_size` fraction of the distinct heroes (≥ 1 when
    there are two or more), every image of a chosen hero in test."""
    ids = sorted(set(heroes))
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = max(1, int(round(test_size * len(ids)))) if len(ids) > 1 else 0
    test = {ids[i] for i in order[:n_test]}
    return np.array([h in test for h in heroes], dtype=bool)


def preprocess_tinyheroes(cfg: TinyHeroesConfig, raw_dir: Path) -> Processed:
    x, names, report, src = load_photos(raw_dir, cfg, "tinyheroes", "TinyHero sprites")  # (N, 3, S, S)
    is_test = _hero_split([PurePosixPath(n).stem for n in names], cfg.test_size, cfg.seed)
    split = f"seeded split by hero (its directions stay together), test_size={cfg.test_size}, seed={cfg.seed}"
    meta = photo_meta("tinyheroes", cfg, src, report, split)
    meta["directions"] = list(cfg.directions)
    if len(cfg.directions) == 1:
        y = no_labels(len(x))
    else:
        y = np.array([cfg.directions.index(direction_of(n)) for n in names], dtype=np.int64)
        meta.update(class_names=list(cfg.directions), labels="the facing direction (index into class_names)")
    return Processed(x[~is_test], y[~is_test], x[is_test], y[is_test], meta)
