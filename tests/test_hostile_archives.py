"""Hostile or wrong input to the download/preprocess stages (DESIGN.md §4 "Data files are data").

Archives and folders are never trusted: size caps are checked from the declared sizes and
again while streaming; links and escaping names are never extracted but recorded; images
too large are judged from their header alone; duplicates, tiny and strip-shaped images are
recorded; a local archive must match its configured sha256 and hold the wanted class.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from aelab.core.config import parse
from aelab.data import contract, images, sources
from aelab.data.registry import DATASETS
from aelab.core.errors import DataError, DataUnavailable
from aelab.core.io import write_json
from aelab.core.params import user_errors
from fixtures_images import (jpeg_bytes, make_afhq_zip, make_hostile_afhq_tar, make_pistachio_folder,
                             noisy_rgb, png_header, zip_symlink)

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr("shutil.which", lambda name: None)  # no kaggle CLI either


def build(name: str, data: dict, raw: Path) -> contract.Processed:
    """download + SOURCE.json + preprocess, as the two stages do."""
    spec = DATASETS[name]
    cfg = parse(spec.config, data, f"data.{name}")
    raw.mkdir(parents=True, exist_ok=True)
    write_json(raw / contract.SOURCE_FILE, spec.download(cfg, raw))
    return spec.preprocess(cfg, raw)


def download_error(name: str, data: dict, raw: Path, error=DataError) -> str:
    spec = DATASETS[name]
    raw.mkdir(parents=True, exist_ok=True)
    with pytest.raises(error) as err:
        spec.download(parse(spec.config, data, f"data.{name}"), raw)
    assert list(raw.iterdir()) == [], "a refused download leaves raw_dir empty"
    return str(err.value)


def stage_line(capsys, name: str, data: dict, raw: Path) -> str:
    """What the download stage prints when it refuses: exactly one line, exit code 1."""
    spec = DATASETS[name]
    raw.mkdir(parents=True, exist_ok=True)
    with pytest.raises(SystemExit) as exc:
        with user_errors(f"download@{name}"):
            spec.download(parse(spec.config, data, f"data.{name}"), raw)
    lines = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(lines) == 1, lines
    return lines[0]


def cats_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


# --- size caps ----------------------------------------------------------------------------------

def test_member_over_the_per_file_cap_is_refused_before_anything_is_written(tmp_path, capsys):
    z = cats_zip(tmp_path / "bomb.zip", {"cat/a.jpg": jpeg_bytes(noisy_rgb(40, 40)),
                                         "cat/bomb.jpg": bytes(2 * MIB)})  # 2 MiB of zeros → ~2 kB
    assert z.stat().st_size < 20_000
    cfg = {"source": str(z), "download": False, "sha256": "", "max_member_mib": 1}
    msg = download_error("cats", cfg, tmp_path / "raw")
    assert str(z) in msg and "cat/bomb.jpg" in msg and "declares 2.0 MiB" in msg
    assert "data.cats.max_member_mib" in msg and "before extracting" in msg
    line = stage_line(capsys, "cats", cfg, tmp_path / "raw2")
    assert line.startswith("error: download@cats: ") and "bomb.jpg" in line


def test_members_over_the_total_cap_are_refused_naming_the_member_that_crosses_it(tmp_path):
    members = {f"cat/{i}.jpg": bytes(400 * 1024) for i in range(4)}  # 4 × 0.4 MiB
    z = cats_zip(tmp_path / "many.zip", members)
    msg = download_error("cats", {"source": str(z), "sha256": "", "max_total_mib": 1}, tmp_path / "raw")
    assert "the members up to cat/2.jpg declare 1.2 MiB" in msg and "data.cats.max_total_mib" in msg


def test_cap_is_enforced_while_streaming_when_declared_sizes_lie(tmp_path):
    z = cats_zip(tmp_path / "liar.zip", {"cat/big.jpg": bytes(3 * MIB)})
    dest = tmp_path / "out"
    lying = {"cat/big.jpg": 100}  # what a crafted header could claim
    with pytest.raises(DataError) as err:
        sources.extract(z, ["cat/big.jpg"], dest, sources.Limits(1 * MIB, 10 * MIB, "data.cats"), lying)
    assert "while extracting" in str(err.value) and "cat/big.jpg" in str(err.value)
    assert not [p for p in dest.rglob("*") if p.is_file()], "the partial file is removed"


def test_defaults_admit_afhq_and_pistachio_sized_photos():
    cfg = parse(DATASETS["cats"].config, {}, "data.cats")
    assert cfg.max_member_mib == 64 and cfg.max_total_mib == 4096 and cfg.max_pixels >= 600 * 600
    for w, h in ((512, 512), (600, 600)):
        images._check_size((w, h), cfg.max_pixels, cfg.max_aspect)  # raises Skip if refused


# --- links and escaping names -------------------------------------------------------------------

def test_tar_links_and_traversal_are_never_extracted_and_each_is_recorded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the archive\n")
    tar = make_hostile_afhq_tar(tmp_path / "afhq.tar", str(secret))
    raw = tmp_path / "work" / "raw"
    p = build("cats", {"source": str(tar), "sha256": "", "size": 16}, raw)
    assert len(p.x_train) == 2 and len(p.x_test) == 1
    assert p.meta["skipped"] == {"hard link": 1, "path traversal": 2, "symlink": 1}
    dropped = {r["file"]: r["reason"] for r in p.meta["skipped_files"]}
    assert dropped == {"/tmp/aelab_absolute_escape.jpg": "path traversal",
                       "afhq/train/cat/../../../../escaped.jpg": "path traversal",
                       "afhq/train/cat/evil_hardlink.jpg": "hard link",
                       "afhq/train/cat/evil_symlink.jpg": "symlink"}
    assert p.meta["n_files"] == 3 + 4
    written = [q for q in tmp_path.rglob("*") if q.is_file() or q.is_symlink()]
    assert not any(q.is_symlink() for q in written)
    assert not (tmp_path / "escaped.jpg").exists() and not Path("/tmp/aelab_absolute_escape.jpg").exists()
    assert not list(tmp_path.rglob("escaped.jpg"))


def test_zip_symlink_member_is_dropped_not_written_as_a_file(tmp_path):
    z = tmp_path / "cats.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for i in range(3):
            zf.writestr(f"cats/{i}.jpg", jpeg_bytes(noisy_rgb(40, 40, i)))
        zip_symlink(zf, "cats/passwd.jpg", "/etc/passwd")
    listing = sources.scan(z)
    assert "cats/passwd.jpg" not in listing.names
    assert listing.dropped == [{"file": "cats/passwd.jpg", "reason": "symlink"}]
    p = build("cats", {"source": str(z), "sha256": "", "size": 16}, tmp_path / "raw")
    assert p.meta["skipped_files"] == [{"file": "cats/passwd.jpg", "reason": "symlink"}]
    assert not list((tmp_path / "raw").rglob("passwd.jpg"))


def test_folder_source_symlinks_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.jpg").write_bytes(jpeg_bytes(noisy_rgb(40, 40, 7)))
    src = tmp_path / "src" / "cat"
    src.mkdir(parents=True)
    for i in range(3):
        (src / f"{i}.jpg").write_bytes(jpeg_bytes(noisy_rgb(40, 40, i)))
    os.symlink(outside / "private.jpg", src / "link.jpg")
    os.symlink(outside, src / "linked_dir")
    p = build("cats", {"source": str(tmp_path / "src"), "size": 16}, tmp_path / "raw")
    assert len(p.x_train) + len(p.x_test) == 3
    assert p.meta["skipped_files"] == [{"file": "cat/link.jpg", "reason": "symlink"},
                                       {"file": "cat/linked_dir", "reason": "symlink"}]
    assert not list((tmp_path / "raw").rglob("private.jpg"))


# --- pixel cap, duplicates, small and strip-shaped images ---------------------------------------

def test_too_many_pixels_is_skipped_from_the_header_without_decoding(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "a_ok.jpg").write_bytes(jpeg_bytes(noisy_rgb(40, 40, 1)))
    (root / "b_8000sq.png").write_bytes(png_header(8000, 8000))  # 64 M > 50 M, < PIL's own cap
    (root / "c_bomb.png").write_bytes(png_header(100_000, 100_000))  # PIL itself refuses at open
    (root / "d_small_cap.jpg").write_bytes(jpeg_bytes(noisy_rgb(60, 50, 2)))
    x, names, report = images.load_folder(root, 16, max_pixels=50_000_000)
    reasons = {r["file"]: r["reason"] for r in report.meta()["skipped_files"]}
    # had it been decoded, the header-only PNG would have been "truncated"/"corrupt"
    assert reasons["b_8000sq.png"] == "too large: 8000×8000 = 64.0 M pixels, over max_pixels 50,000,000"
    assert reasons["c_bomb.png"] == "too large"
    assert report.skipped == {"too large": 2} and names == ["a_ok.jpg", "d_small_cap.jpg"]
    _, names, report = images.load_folder(root, 16, max_pixels=2999)
    assert "d_small_cap.jpg" not in names and report.skipped["too large"] == 3


def test_identical_pixels_are_kept_once_and_the_copy_recorded(tmp_path):
    root = tmp_path / "imgs"
    (root / "train").mkdir(parents=True)
    (root / "val").mkdir()
    img = noisy_rgb(40, 40, 5)
    img.save(root / "train" / "a.png")
    img.save(root / "val" / "a_copy.png", compress_level=1)  # other bytes, same pixels
    (root / "val" / "b.png").write_bytes((root / "train" / "a.png").read_bytes())
    noisy_rgb(40, 40, 6).save(root / "train" / "c.png")
    x, names, report = images.load_folder(root, 16)
    assert names == ["train/a.png", "train/c.png"]
    assert report.meta()["skipped_files"] == [{"file": "val/a_copy.png", "reason": "duplicate of train/a.png"},
                                              {"file": "val/b.png", "reason": "duplicate of train/a.png"}]
    assert report.skipped == {"duplicate": 2}


def test_small_images_are_kept_and_recorded_strips_are_skipped(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    noisy_rgb(20, 20, 1).save(root / "a_small.png")
    noisy_rgb(20, 900, 2).save(root / "b_strip.png")
    noisy_rgb(100, 26, 3).save(root / "c_wide_ok.png")  # 3.8:1, under the 4:1 default
    noisy_rgb(64, 64, 4).save(root / "d_big.png")
    x, names, report = images.load_folder(root, 32)
    meta = report.meta()
    assert names == ["a_small.png", "c_wide_ok.png", "d_big.png"]
    assert meta["skipped_files"] == [{"file": "b_strip.png", "reason": "extreme aspect ratio 20×900 (over 4:1)"}]
    assert meta["upscaled_files"] == [{"file": "a_small.png", "note": "upscaled from 20×20"},
                                      {"file": "c_wide_ok.png", "note": "upscaled from 100×26"}]
    assert meta["upscaled"] == 2 and meta["skipped"] == {"extreme aspect ratio": 1}
    _, names, _ = images.load_folder(root, 32, max_aspect=50)
    assert "b_strip.png" in names


# --- the right archive or a clear refusal -------------------------------------------------------

def test_local_archive_with_the_wrong_sha256_is_refused_saying_how_to_proceed(tmp_path, capsys):
    z = make_afhq_zip(tmp_path / "afhq.zip", n_train=3, n_val=1)
    actual = sources.sha256_file(z)
    msg = download_error("cats", {"source": str(z)}, tmp_path / "raw")  # default: AFHQ's sha256
    assert str(z) in msg and actual in msg and "7f63dcc14ef58c0e849b59091287e1844da97016073aac20403ae6c6132b950f" in msg
    assert 'set data.cats.sha256: "" to skip the check' in msg
    assert actual in stage_line(capsys, "cats", {"source": str(z)}, tmp_path / "raw2")
    p = build("cats", {"source": str(z), "sha256": actual, "size": 16}, tmp_path / "ok")  # the right one
    assert len(p.x_train) == 3
    msg = download_error("pistachios", {"source": str(z), "sha256": "0" * 64}, tmp_path / "raw3")
    assert "data.pistachios.sha256" in msg


def test_folder_sources_and_empty_sha256_are_not_hashed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(sources, "sha256_file", lambda p: calls.append(p) or "x")
    root = make_pistachio_folder(tmp_path / "src")
    build("pistachios", {"source": str(root), "sha256": "0" * 64}, tmp_path / "raw")  # folder
    z = make_afhq_zip(tmp_path / "afhq.zip", n_train=3, n_val=1)
    build("cats", {"source": str(z), "sha256": "", "size": 16}, tmp_path / "raw2")
    assert calls == []


def test_afhq_archive_without_cats_is_refused_naming_the_folders_found(tmp_path):
    z = cats_zip(tmp_path / "afhq.zip", {f"afhq/train/{c}/{i}.jpg": jpeg_bytes(noisy_rgb(40, 40, i))
                                         for c in ("dog", "wild") for i in range(2)})
    msg = download_error("cats", {"source": str(z), "sha256": ""}, tmp_path / "raw", DataUnavailable)
    assert f"{z} holds no afhq/*/cat/ images; found folders: dog, wild" in msg


def test_pistachio_source_without_kirmizi_is_refused_naming_the_folders_found(tmp_path):
    root = make_pistachio_folder(tmp_path / "src", n_kirmizi=0)
    msg = download_error("pistachios", {"source": str(root)}, tmp_path / "raw", DataUnavailable)
    assert "holds no folder named Kirmizi_Pistachio; found folders: " in msg and "Siirt_Pistachio" in msg
