"""study_photo_samples' measures on images with known answers (the stage end to end is in
tests/test_studies.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aelab.core import paths
from aelab.core.errors import ConfigError
from aelab.core.io import read_json
from aelab.core.params import complete, load_params

from aelab.studies.photo_samples import (gradient_magnitude, laplacian_variance, luminance,
                                         mean_pairwise_rms)


def checkerboard(n: int = 8, channels: int = 1) -> torch.Tensor:
    """(1, channels, n, n) of alternating 0/1 pixels, the same in every channel."""
    i = torch.arange(n)
    board = ((i[:, None] + i[None, :]) % 2).float()
    return board.expand(1, channels, n, n).clone()


def test_luminance_uses_bt601_weights_and_keeps_gray():
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    assert luminance(red).flatten().tolist() == pytest.approx([0.299] * 4)
    gray = torch.rand(2, 1, 3, 3)
    assert torch.equal(luminance(gray), gray)
    assert torch.allclose(luminance(gray.expand(2, 3, 3, 3)), gray, atol=1e-6)  # weights sum to 1


def test_laplacian_variance_known_values():
    """A constant image has none; a 0/1 checkerboard's Laplacian is ±4 in equal numbers: variance 16."""
    assert laplacian_variance(torch.full((2, 3, 8, 8), 0.7)).tolist() == pytest.approx([0.0, 0.0], abs=1e-10)
    assert laplacian_variance(checkerboard()).item() == pytest.approx(16.0)
    assert laplacian_variance(checkerboard(channels=3)).item() == pytest.approx(16.0, rel=1e-5)
    ramp = torch.linspace(0, 1, 8).expand(1, 1, 8, 8)  # linear: Laplacian 0 everywhere
    assert laplacian_variance(ramp).item() == pytest.approx(0.0, abs=1e-10)


def test_blur_lowers_both_sharpness_measures():
    sharp = (torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    blurred = torch.nn.functional.avg_pool2d(sharp, 3, stride=1, padding=1, count_include_pad=False)
    assert (laplacian_variance(blurred) < laplacian_variance(sharp) / 4).all()
    assert (gradient_magnitude(blurred) < gradient_magnitude(sharp)).all()


def test_gradient_magnitude_of_a_ramp_is_its_slope():
    ramp = torch.linspace(0, 1, 11).expand(1, 1, 11, 11)  # +0.1 per column, 0 per row
    assert gradient_magnitude(ramp).item() == pytest.approx(0.1, rel=1e-5)
    diag = ramp + ramp.transpose(2, 3)  # +0.1 both ways: √0.02
    assert gradient_magnitude(diag).item() == pytest.approx(0.02 ** 0.5, rel=1e-5)


def test_mean_pairwise_rms_known_values():
    zeros, ones = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert mean_pairwise_rms(torch.cat([zeros, ones])) == pytest.approx(1.0)
    assert mean_pairwise_rms(torch.cat([zeros, zeros, ones])) == pytest.approx(2 / 3)  # pairs 0, 1, 1
    assert mean_pairwise_rms(torch.cat([ones] * 5)) == 0.0  # identical samples: no variety
    half = torch.zeros(1, 3, 4, 4)
    half[..., :2] = 1.0  # differs from zeros on half the pixels: RMS √0.5
    assert mean_pairwise_rms(torch.cat([zeros, half])) == pytest.approx(0.5 ** 0.5)


# ---- the stage end to end, from train@ ----

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("emoji_deep_cae_z256", "emoji_deep_vae_z32", "emoji_deep_gan")


def _fake_emoji(n_train=60, n_test=30):
    """3×16×16 'emoji': class c is a coloured square in corner c (3 classes), plus noise."""
    from aelab.data.contract import Processed, save_processed

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n_train + n_test).astype(np.int64)
    x = (rng.random((len(y), 3, 16, 16)) * 60).astype(np.uint8) + 180
    for i, c in enumerate(y):
        r, q = divmod(int(c), 2)
        x[i, c, 8 * r:8 * r + 8, 8 * q:8 * q + 8] = 20
    meta = {"name": "emoji", "kind": "image", "shape": [3, 16, 16], "value_range": [0, 255],
            "binarized": False, "class_names": ["a", "b", "c"], "source": "test", "skipped": {}}
    save_processed(paths.processed("emoji"), Processed(x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta))


@pytest.mark.slow  # ~15 s on a 2-core CPU: three train@ runs, the study twice, six figures
def test_photo_samples_study_from_the_train_stage_writes_the_keys(tmp_path, monkeypatch):
    from aelab.stage_fns import train
    from aelab.studies.photo_samples import study_photo_samples

    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["runtime"]["threads"] = 1
    raw["classify"].update(n_estimators=10, gmm_components=[1, 2])
    for v in VARIANTS:
        raw["variants"][v].update(filters=8, n_down=2, n_up=2, seed_channels=4, latent_dim=4)
        raw["variants"][v]["train"].update(epochs=1, batch_size=20, bf16=False)
    raw["variants"]["emoji_deep_gan"].update(filters=[8], encoder_epochs=1)
    raw["studies"]["photo_samples"] = {"t": {"n_samples": 30, "n_show": 4, "fid_hidden": 8, "fid_max_iter": 5}}
    Path("params.yaml").write_text(yaml.safe_dump(complete(raw), sort_keys=False))
    params = load_params()
    _fake_emoji()
    for v in VARIANTS:
        train(params, v)  # the real stage: checkpoint and metrics
    m = study_photo_samples(params, "t")
    assert m["n_samples"] == 30 and 0 <= m["fid_feature_net_test_accuracy"] <= 1
    assert m["real"]["n"] == 30 and m["real"]["frechet_distance"] >= 0  # the floor: two halves of real
    assert m["cae"]["sampler"] == "gmm" and m["cae"]["gmm_components"] in (1, 2)
    assert m["vae"]["sampler"] == m["gan"]["sampler"] == "prior"
    for role, variant in zip(("cae", "vae", "gan"), VARIANTS):
        r = m[role]
        assert r["variant"] == variant and r["n"] == 30 and r["frechet_distance"] >= 0
        for k in ("laplacian_variance", "gradient_magnitude", "mean_pairwise_rms"):
            assert r[f"{k}_ratio_to_real"] == pytest.approx(r[k] / m["real"][k], rel=1e-3)
        assert sum(r["class_fraction"].values()) == pytest.approx(1.0, abs=1e-4)
        assert r["top_class_share"] == pytest.approx(max(r["class_fraction"].values()), abs=1e-4)
        assert r["classes_seen"] == sum(f >= params.health.min_class_share for f in r["class_fraction"].values())
        assert r["nearest_train_mse_per_pixel"] > 0
    assert read_json(paths.study_metrics("photo_samples_t")) == m
    assert {p.name for p in paths.study_plots("photo_samples_t").iterdir()} == {
        "samples.png", "measures.png", "classes.png"}
    first = paths.study_metrics("photo_samples_t").read_bytes()
    study_photo_samples(params, "t")
    assert paths.study_metrics("photo_samples_t").read_bytes() == first  # seeded: same bytes
    raw["studies"]["photo_samples"]["t"].update(gan="emoji_deep_cae_z256")  # a CAE has no prior
    Path("params.yaml").write_text(yaml.safe_dump(complete(raw), sort_keys=False))
    with pytest.raises(ConfigError, match=r"studies\.photo_samples\.t\.gan: variant 'emoji_deep_cae_z256' \(DeepCAE\) has no prior to sample from"):
        study_photo_samples(load_params(), "t")


# ---- the report's section, from a fixture metrics file ----

def _judged(variant, lap, sem, grad, rms, seen, top, near, fid, sampler="prior"):
    real = {"laplacian_variance": 0.02, "gradient_magnitude": 0.05, "mean_pairwise_rms": 0.30}
    m = {"variant": variant, "sampler": sampler, "n": 500, "laplacian_variance": lap, "laplacian_variance_sem": sem,
         "gradient_magnitude": grad, "gradient_magnitude_sem": 0.001, "mean_pairwise_rms": rms,
         "classes_seen": seen, "top_class_share": top, "top_class_share_n": 500,
         "top_class_share_lo": top - 0.04, "top_class_share_hi": top + 0.04,
         "nearest_train_mse_per_pixel": near, "frechet_distance": fid,
         "class_fraction": {"Smileys": top, "Animals": 1 - top}}
    if variant:
        m.update({f"{k}_ratio_to_real": m[k] / real[k] for k in real})
    else:
        m.update(real)
    return m


def photo_study(gan_lap=0.016, vae_lap=0.004, gan_sem=0.001) -> dict:
    """metrics/studies/photo_samples_emoji.json as studies.photo_samples.compute writes it."""
    return {"dataset": "emoji", "n_samples": 500, "fid_feature_net_test_accuracy": 0.6, "min_class_share": 0.01,
            "real": _judged(None, 0.02, 0.001, 0.05, 0.30, 9, 0.48, 0.010, 2.0),
            "cae": {**_judged("emoji_deep_cae_z256", 0.006, 0.0005, 0.03, 0.24, 5, 0.55, 0.011, 9.0, "gmm"),
                    "gmm_components": 4},
            "vae": _judged("emoji_deep_vae_z32", vae_lap, 0.0004, 0.02, 0.15, 3, 0.80, 0.012, 14.0),
            "gan": _judged("emoji_deep_gan", gan_lap, gan_sem, 0.045, 0.27, 7, 0.40, 0.004, 6.0)}


def _section(tmp_path, study: dict):
    from aelab.report.gather import load_run
    from aelab.report.photo_samples import photo_samples

    p = tmp_path / "metrics/studies/photo_samples_emoji.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(__import__("json").dumps(study))
    return photo_samples(load_run(load_params(ROOT / "params.yaml"), tmp_path))


def test_report_section_ranks_sharpness_variety_and_flags_copying(tmp_path):
    s = _section(tmp_path, photo_study())
    assert s.findings[0].startswith("Sharpness (Laplacian variance relative to real test images): "
                                    "GAN 0.80×, CAE + GMM 0.30×, VAE 0.20×")
    assert "the GAN's samples are the sharpest (the gap to the CAE + GMM exceeds 2 standard errors)" in s.findings[0]
    assert "Below half the real images' sharpness: CAE + GMM, VAE." in s.findings[0]
    assert s.findings[1].startswith("Fréchet distance to real test images (lower = closer in the classifier's "
                                    "features): GAN 6, CAE + GMM 9, VAE 14; two halves of the real test images are "
                                    "2 apart — the GAN is closest: its lead over the CAE + GMM (3) is larger than that floor.")
    assert "VAE 0.50× (3 categories)" in s.findings[2] and "the VAE's samples are the most alike" in s.findings[2]
    assert "real images: 9 categories" in s.findings[2]
    assert "Share of the most frequent category: GAN 40.0%" in s.findings[3] and "do not overlap" in s.findings[3]
    assert "GAN sit much closer to training images than real ones do" in s.findings[4]
    assert "Above the real images" not in s.findings[0]
    assert "farthest from real images" not in s.findings[0]  # the GAN is also the closest by Fréchet here
    header, rows = s.table
    assert header[0] == "images" and rows[0][0] == "real test images" and rows[0][-1] == "2 (floor)"
    assert rows[1][:2] == ["CAE + GMM: `emoji_deep_cae_z256`", "GMM, 4 components"]
    assert rows[3][2] == "0.016 (0.8×)"


def test_report_section_calls_a_tie_within_two_standard_errors_and_skips_without_the_file(tmp_path):
    s = _section(tmp_path, photo_study(gan_lap=0.0062, gan_sem=0.0003))  # 0.0062 vs the CAE's 0.006
    assert "the GAN and the CAE + GMM are within 2 standard errors of each other" in s.findings[0]
    noisy = photo_study(gan_lap=0.05)  # 2.5× the real images' Laplacian variance: artefacts
    noisy["cae"]["frechet_distance"] = 7.0  # 1 from the GAN's 6, under the floor of 2
    s = _section(tmp_path, noisy)
    assert "Above the real images: GAN — this measure counts every high-frequency detail" in s.findings[0]
    assert "the GAN's samples are the richest in high-frequency detail (the gap" in s.findings[0]
    assert "500 samples per model and 500 real test images" in s.ran[-1]
    assert "the GAN and the CAE + GMM differ by less than that floor, so this run does not separate them" in s.findings[1]
    from aelab.report.gather import load_run
    from aelab.report.photo_samples import photo_samples

    assert photo_samples(load_run(load_params(ROOT / "params.yaml"), tmp_path / "empty")).empty


def test_report_section_warns_when_the_sharpest_samples_are_the_farthest_from_real_images(tmp_path):
    """The default run's collapsed photo GAN: near-white samples with checkerboard specks
    ranked sharpest (0.48× real) at a Fréchet distance of 87.5 against the CAE's 1.6."""
    study = photo_study()
    study["gan"]["frechet_distance"] = 87.5
    s = _section(tmp_path, study)
    assert "the GAN's samples are the sharpest (the gap to the CAE + GMM exceeds 2 standard errors), but they are " \
           "also the farthest from real images by Fréchet distance (87.5 vs at most 14 for the others)" in s.findings[0]
    study["gan"]["frechet_distance"] = 15.0  # farthest, but by less than the real-vs-real floor of 2
    assert "farthest from real images" not in _section(tmp_path, study).findings[0]
