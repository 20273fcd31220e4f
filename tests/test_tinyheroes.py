"""TinyHero (opt-in): front-facing selection, RGBA compositing, the data contract, hostile
members, the one "tried, in order" message, and `python -m aelab.enable tinyheroes`.

No network: sprites are tiny fakes the tests draw, in the real layouts (the GitHub archive's
`<repo>-<commit>/data/{0,1,2,3}/<hero>.png`, pixel-sides' `tiny-hero/2-front/`), and every
URL fetch and the Kaggle CLI are made to fail.
"""

from __future__ import annotations

import io
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from aelab.core.config import parse
from aelab.data import contract, sources, tinyheroes
from aelab.data.registry import DATASETS
from aelab.enable import enable, main as enable_main, optional_variants
from aelab.core.errors import ConfigError, DataError, DataUnavailable
from aelab.core.io import write_json
from aelab.core.params import load_params
from fixtures_images import png_header

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
PREFIX = f"pixel_character_generator-{tinyheroes.COMMIT}/data"  # the GitHub archive's layout
# One colour per direction folder, so an output pixel tells which folder it came from.
FOLDER_RGB = {"0": (200, 0, 0), "1": (0, 200, 0), "2": (0, 0, 200), "3": (200, 200, 0)}
BG = (10, 20, 30)  # a background no sprite colour shares
N_HEROES = 5
TWINS = {"tinyheroes_conv_ae_z2", "tinyheroes_deep_cae_z256", "tinyheroes_deep_vae_z32", "tinyheroes_gan"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no kaggle CLI either


def sprite_png(folder: str, hero: int) -> bytes:
    """64×64 RGBA: transparent ground, an opaque 32×32 block in the direction's colour at
    16..48, and an opaque 16×16 hero marker (grey 20·(hero+1)) in the top-right corner, so no
    two sprites are equal (images.py drops duplicates). Lanczos at 2× reaches 6 source
    pixels, so output pixels well inside a region keep its colour exactly."""
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    img.paste((*FOLDER_RGB[folder], 255), (16, 16, 48, 48))
    g = 20 * (hero + 1)
    img.paste((g, g, g, 255), (48, 0, 64, 16))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def sprite_members(prefix: str = PREFIX, folders=("0", "1", "2", "3")) -> dict[str, bytes]:
    members = {f"{prefix}/{f}/{h}.png": sprite_png(f, h) for f in folders for h in range(N_HEROES)}
    members[f"{prefix.rsplit('/', 1)[0]}/README.md"] = b"# pixel_character_generator\n"
    members[f"{prefix.rsplit('/', 1)[0]}/images/58.png"] = sprite_png("2", 9)  # a README picture, not data
    return members


def write_folder(root: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def build(data: dict, raw: Path) -> contract.Processed:
    """download + SOURCE.json + preprocess, as the two stages do; the contract is checked."""
    spec = DATASETS["tinyheroes"]
    cfg = parse(spec.config, data, "data.tinyheroes")
    raw.mkdir(parents=True, exist_ok=True)
    write_json(raw / contract.SOURCE_FILE, spec.download(cfg, raw))
    p = spec.preprocess(cfg, raw)
    contract.check_contract(p)
    return p


def download_error(data: dict, raw: Path, error=DataUnavailable) -> str:
    spec = DATASETS["tinyheroes"]
    raw.mkdir(parents=True, exist_ok=True)
    with pytest.raises(error) as err:
        spec.download(parse(spec.config, data, "data.tinyheroes"), raw)
    assert list(raw.iterdir()) == [], "a failed download leaves raw_dir empty"
    return str(err.value)


def centre(x: np.ndarray) -> list[tuple[int, int, int]]:
    """The (R, G, B) at output pixel (16, 16) of each image: the direction block's colour."""
    return [tuple(int(v) for v in img[:, 16, 16]) for img in x]


def marker(img: np.ndarray) -> int:
    """The hero marker's grey at output (2, 29), i.e. source rows 4..5, columns 58..59."""
    return int(img[0, 2, 29])


def raw_files(raw: Path) -> list[str]:
    return sorted(p.relative_to(raw / "images").as_posix() for p in (raw / "images").rglob("*") if p.is_file())


# --- front-facing selection, compositing, contract ----------------------------------------------

def test_folder_source_keeps_only_the_front_facing_folder(tmp_path):
    root = write_folder(tmp_path / "src", sprite_members())
    p = build({"source": str(root), "download": False, "background": list(BG)}, tmp_path / "raw")
    assert centre(np.concatenate([p.x_train, p.x_test])) == [FOLDER_RGB["2"]] * N_HEROES
    assert raw_files(tmp_path / "raw") == [f"{PREFIX}/2/{h}.png" for h in range(N_HEROES)]
    assert p.meta["directions"] == ["front"] and p.meta["n_files"] == N_HEROES and p.meta["skipped"] == {}
    assert p.meta["source"] == f"TinyHero sprites from local {root}"


def test_zip_source_gives_the_same_arrays_as_the_folder(tmp_path):
    members = sprite_members()
    folder = build({"source": str(write_folder(tmp_path / "src", members)), "download": False},
                   tmp_path / "raw_folder")
    z = build({"source": str(write_zip(tmp_path / "th.zip", members)), "download": False}, tmp_path / "raw_zip")
    for k in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(folder, k), getattr(z, k)), k
    assert z.meta["source"] == f"TinyHero sprites from local {tmp_path / 'th.zip'}"


def test_output_follows_the_data_contract(tmp_path):
    root = write_folder(tmp_path / "src", sprite_members())
    p = build({"source": str(root), "download": False, "size": 32, "test_size": 0.2, "seed": 0},
              tmp_path / "raw")
    assert p.x_train.shape == (4, 3, 32, 32) and p.x_test.shape == (1, 3, 32, 32)
    assert p.x_train.dtype == np.uint8 and p.x_test.dtype == np.uint8
    assert p.y_train.dtype == np.int64 and p.y_train.tolist() == [-1] * 4 and p.y_test.tolist() == [-1]
    m = p.meta
    assert (m["name"], m["kind"], m["shape"], m["value_range"], m["binarized"]) == \
        ("tinyheroes", "image", [3, 32, 32], [0, 255], False)
    assert m["class_names"] == [] and m["labels"] == "none (-1): a single class"
    assert m["converted"] == {"RGBA": N_HEROES}  # every sprite was composited
    # the held-out hero: the first of a seeded permutation of the sorted hero ids "0".."4"
    held_out = int(np.random.default_rng(0).permutation(N_HEROES)[0])
    assert marker(p.x_test[0]) == 20 * (held_out + 1)
    assert sorted(marker(x) for x in p.x_train) == sorted(20 * (h + 1) for h in range(N_HEROES) if h != held_out)


def test_rgba_is_composited_over_the_background_exactly(tmp_path):
    half = Image.new("RGBA", (64, 64), (200, 100, 50, 64))  # uniform, a quarter opaque
    buf = io.BytesIO()
    half.save(buf, "PNG")
    members = {f"data/2/{h}.png": sprite_png("2", h) for h in range(2)} | {"data/2/half.png": buf.getvalue()}
    p = build({"source": str(write_folder(tmp_path / "src", members)), "download": False,
               "background": list(BG), "test_size": 0.5}, tmp_path / "raw")
    x = {marker(img): img for img in np.concatenate([p.x_train, p.x_test])}
    sprite = x[20]  # hero 0
    assert tuple(sprite[:, 31, 0]) == BG  # transparent corner → the background, exactly
    assert tuple(sprite[:, 16, 16]) == FOLDER_RGB["2"]  # opaque block → its colour, exactly
    # alpha 64/255 over BG: round(bg + (src − bg)·64/255) = (57.7, 40.1, 35.0) → (58, 40, 35)
    flat = next(img for img in x.values() if tuple(img[:, 0, 0]) == (58, 40, 35))
    assert np.unique(flat.reshape(3, -1), axis=1).tolist() == [[58], [40], [35]]


def test_pixel_sides_folder_names_and_the_direction_list(tmp_path):
    """`2-front`/`0-back` (pixel-sides' copy) are read too; two directions → labels are the
    index in `directions`, and a hero's two images land on the same side of the split."""
    members = {f"tiny-hero/{n}/{h}.png": sprite_png(n[0], h) for n in ("0-back", "2-front", "3-right")
               for h in range(N_HEROES)}
    p = build({"source": str(write_folder(tmp_path / "src", members)), "download": False,
               "directions": ["front", "back"]}, tmp_path / "raw")
    assert p.meta["class_names"] == ["front", "back"] and p.meta["directions"] == ["front", "back"]
    assert p.meta["labels"] == "the facing direction (index into class_names)"
    assert len(p.x_train) == 8 and len(p.x_test) == 2
    colour = {0: FOLDER_RGB["2"], 1: FOLDER_RGB["0"]}
    for x, y in ((p.x_train, p.y_train), (p.x_test, p.y_test)):
        assert centre(x) == [colour[int(label)] for label in y]
    assert sorted(p.y_test.tolist()) == [0, 1] and marker(p.x_test[0]) == marker(p.x_test[1])
    assert not any("3-right" in f for f in raw_files(tmp_path / "raw"))


@pytest.mark.parametrize("data, key, words", [
    ({"directions": []}, "data.tinyheroes.directions", "must name at least one of back, left, front, right"),
    ({"directions": ["front", "front"]}, "data.tinyheroes.directions", "lists a direction twice: ['front', 'front']"),
    ({"directions": ["up"]}, "data.tinyheroes.directions[0]",
     "must be one of 'back', 'left', 'front', 'right'; got 'up'"),
    ({"background": [0, 0, 300]}, "data.tinyheroes.background",
     "must be 3 integers in 0..255 (R, G, B), got [0, 0, 300]"),
    ({"max_member_mib": 0}, "data.tinyheroes.max_member_mib", "must be >= 1, got 0"),
])
def test_config_errors_name_the_key(data, key, words):
    with pytest.raises(ConfigError) as err:
        parse(tinyheroes.TinyHeroesConfig, data, "data.tinyheroes")
    assert err.value.key == key and str(err.value) == f"{key}: {words}"


def test_config_docstring_lists_every_field():
    import dataclasses

    doc = tinyheroes.TinyHeroesConfig.__doc__
    assert [f.name for f in dataclasses.fields(tinyheroes.TinyHeroesConfig) if f.name not in doc] == []


# --- hostile or broken members --------------------------------------------------------------------

def test_broken_front_sprites_are_skipped_with_a_record(tmp_path):
    members = sprite_members()
    whole = sprite_png("2", 7)
    members |= {f"{PREFIX}/2/90.png": b"", f"{PREFIX}/2/91.png": whole[: len(whole) // 2],
                f"{PREFIX}/2/92.png": png_header(9000, 9000), f"{PREFIX}/2/notes.txt": b"hero list\n"}
    root = write_folder(tmp_path / "src", members)
    os.symlink(tmp_path / "src" / "secret", root / PREFIX / "2" / "93.png")
    p = build({"source": str(root), "download": False}, tmp_path / "raw")
    assert len(p.x_train) + len(p.x_test) == N_HEROES
    assert p.meta["skipped"] == {"empty file": 1, "not an image": 1, "symlink": 1, "too large": 1, "truncated": 1}
    assert {r["file"]: r["reason"] for r in p.meta["skipped_files"]} == {
        f"{PREFIX}/2/90.png": "empty file", f"{PREFIX}/2/91.png": "truncated",
        f"{PREFIX}/2/92.png": "too large: 9000×9000 = 81.0 M pixels, over max_pixels 50,000,000",
        f"{PREFIX}/2/93.png": "symlink", f"{PREFIX}/2/notes.txt": "not an image"}
    assert not (tmp_path / "raw" / "images" / PREFIX / "2" / "93.png").exists()


def test_oversized_front_member_is_refused_before_extracting(tmp_path):
    members = sprite_members() | {f"{PREFIX}/2/bomb.png": bytes(2 * MIB)}
    z = write_zip(tmp_path / "bomb.zip", members)
    msg = download_error({"source": str(z), "download": False, "max_member_mib": 1}, tmp_path / "raw", DataError)
    assert msg == (f"{z}: member {PREFIX}/2/bomb.png declares 2.0 MiB uncompressed, over the 1 MiB "
                   "per-file cap (data.tinyheroes.max_member_mib); refused before extracting — raise "
                   "the cap if the file is genuine")


def test_oversized_member_of_an_unused_direction_is_never_read(tmp_path):
    members = sprite_members() | {f"{PREFIX}/0/bomb.png": bytes(2 * MIB)}
    z = write_zip(tmp_path / "back_bomb.zip", members)
    p = build({"source": str(z), "download": False, "max_member_mib": 1}, tmp_path / "raw")
    assert len(p.x_train) + len(p.x_test) == N_HEROES


def test_local_archive_with_the_wrong_sha256_stops_the_stage(tmp_path):
    z = write_zip(tmp_path / "th.zip", sprite_members())
    msg = download_error({"source": str(z), "sha256": "0" * 64}, tmp_path / "raw", DataError)
    assert msg.startswith(f"{z}: sha256 {sources.sha256_file(z)} does not match data.tinyheroes.sha256 {'0' * 64}")


# --- nothing serves: one message ----------------------------------------------------------------

HOW_TO = ("To provide it: download the TinyHero sprites (https://github.com/AgaMiko/pixel_character_generator, "
          "or the Kaggle zip https://www.kaggle.com/datasets/calmness/retro-pixel-characters-generator) and "
          "set data.tinyheroes.source: /path/to/the.zip in params.yaml (any folder holding the direction "
          "folders 0/1/2/3 works too), or allow the network with data.tinyheroes.download: true.")


def test_no_source_and_download_disabled_lists_everything_tried(tmp_path):
    msg = download_error({"download": False}, tmp_path / "raw")
    assert msg == "\n".join([
        "no source could provide dataset 'tinyheroes'. Tried, in order:",
        "  1. local path (data.tinyheroes.source): not set (data.tinyheroes.source is empty)",
        "  2. download from data.tinyheroes.url: skipped (download: false)",
        "  3. Kaggle CLI (calmness/retro-pixel-characters-generator): skipped (download: false)",
        HOW_TO])


def test_offline_with_download_allowed_says_why_each_network_source_failed(tmp_path):
    root = write_folder(tmp_path / "src", sprite_members(folders=("0", "1", "3")))
    msg = download_error({"source": str(root)}, tmp_path / "raw")
    assert msg == "\n".join([
        "no source could provide dataset 'tinyheroes'. Tried, in order:",
        f"  1. local path (data.tinyheroes.source): {root} holds no front sprites (a folder named 2 or "
        "2-front); found folders: 0, 1, 3, images, pixel_character_generator-" + tinyheroes.COMMIT,
        f"  2. download from data.tinyheroes.url: {tinyheroes.TINYHERO_URL}: URLError: "
        "<urlopen error network disabled in tests>",
        "  3. Kaggle CLI (calmness/retro-pixel-characters-generator): the `kaggle` CLI is not installed "
        "(pip install kaggle)",
        HOW_TO])


def test_url_download_checks_sha256_and_keeps_no_archive(tmp_path, monkeypatch):
    """The network path, served from a file:// URL (real urlopen: file:// needs no network)."""
    monkeypatch.undo()
    monkeypatch.setattr(shutil, "which", lambda name: None)  # still no kaggle CLI
    z = write_zip(tmp_path / "th.zip", sprite_members())
    msg = download_error({"url": z.as_uri(), "sha256": "f" * 64}, tmp_path / "bad")
    assert f"  2. download from data.tinyheroes.url: {z.as_uri()}: sha256 {sources.sha256_file(z)} " \
           f"does not match the expected {'f' * 64}" in msg.splitlines()
    p = build({"url": z.as_uri(), "sha256": sources.sha256_file(z)}, tmp_path / "good")
    assert p.meta["source"] == f"TinyHero sprites downloaded from {z.as_uri()}"
    assert len(p.x_train) + len(p.x_test) == N_HEROES
    assert sorted(x.name for x in (tmp_path / "good").iterdir()) == ["SOURCE.json", "images"]


# --- opt-in: registry, params.yaml, `python -m aelab.enable tinyheroes` ---------------------------

def test_registered_as_opt_in_and_params_has_its_block_but_does_not_run_it():
    spec = DATASETS["tinyheroes"]
    assert (spec.kind, spec.offline) == ("image", False)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert "tinyheroes" not in raw["datasets"]
    assert raw["ood"]["tinyheroes"] == "emoji"
    cfg = load_params(ROOT / "params.yaml").dataset_cfg("tinyheroes")
    assert (cfg.source, cfg.download, cfg.url, cfg.sha256, cfg.directions, cfg.size, cfg.background) == \
        ("", True, tinyheroes.TINYHERO_URL, "", ("front",), 32, (255, 255, 255))


def test_enable_adds_the_dataset_and_its_twins(tmp_path, capsys):
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    assert {k for k, v in optional_variants().items() if v["dataset"] == "tinyheroes"} == TWINS
    n_before = len(load_params(path).variants)
    comments = lambda: [ln for ln in path.read_text().splitlines() if ln.lstrip().startswith("#")]  # noqa: E731
    comments_before = comments()

    enable_main(["tinyheroes", "--source", "/data/tinyhero.zip", "--params", str(path)])

    assert capsys.readouterr().out == ("enabled tinyheroes: datasets += tinyheroes; variants += "
                                       f"{[v for v in optional_variants() if v in TWINS]}\n")
    p = load_params(path)
    assert p.datasets[-1] == "tinyheroes" and p.datasets.count("tinyheroes") == 1
    assert TWINS <= set(p.variants) and len(p.variants) == n_before + 4
    assert all(p.variant(v).dataset == "tinyheroes" for v in TWINS)
    assert p.dataset_cfg("tinyheroes").source == "/data/tinyhero.zip"
    assert enable(path, "tinyheroes") == []  # a second run copies nothing twice
    assert comments() == comments_before  # the catalogue's full-line comments stay out of params.yaml


def test_preview_shows_the_stored_rgba_sprite_beside_its_composite(tmp_path):
    root = write_folder(tmp_path / "src", sprite_members())
    build({"source": str(root), "download": False}, tmp_path / "raw")
    cfg = parse(tinyheroes.TinyHeroesConfig, {"background": list(BG)}, "data.tinyheroes")
    shown = DATASETS["tinyheroes"].preview(cfg, tmp_path / "raw", 2, np.random.default_rng(0))
    assert len(shown.examples) == 2
    for ex in shown.examples:
        assert ex.note == "64×64 PNG RGBA" and ex.raw.shape == (64, 64, 4) and ex.processed.shape == (3, 32, 32)
        assert tuple(ex.raw[63, 0]) == (0, 0, 0, 0) and tuple(ex.processed[:, 31, 0]) == BG
