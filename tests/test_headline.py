"""metrics/headline: a few numbers per variant with the loss unit in the key, health in short."""

import json

import pytest

from aelab.headline import build_headline, loss_key, studies_headline, variant_headline
from aelab.core.params import load_params


def test_loss_key_carries_the_unit():
    assert loss_key("nats/image") == "test_loss_nats"
    assert loss_key("MSE/pixel") == "test_loss_mse"
    assert loss_key("MAE/pixel") == "test_loss_mae"
    assert loss_key("") == "test_loss"
    from aelab.models.dbm import DBM
    from aelab.models.rbm import RBM

    assert loss_key(RBM.loss_units) is None and loss_key(DBM.loss_units) is None  # a surrogate, no loss level
    h = variant_headline({"epochs": 30, "test": {"loss": -9.76}, "loss_units": RBM.loss_units},
                         {"reconstruct.test.mse_per_pixel": 0.021}, {})
    assert h == {"epochs": 30, "mse": 0.021, "health": "ok"}


def test_variant_headline_picks_the_numbers_and_summarises_health():
    train = {"epochs": 20, "loss_units": "nats/image", "test": {"loss": 162.5}}
    ev = {"reconstruct.test.mse_per_pixel": 0.046, "latent.knn_accuracy": 0.556, "anomaly.auroc": 0.98,
          "health": {"ok": False, "warnings": {"output_collapse": {}}}}
    rf = {"accuracy": {"test_reconstructions": 0.419}, "samples": {"classes_seen": 9},
          "health": {"ok": False, "warnings": {"mode_collapse": {}, "output_collapse": {}}}}
    h = variant_headline(train, ev, rf)
    assert h == {"epochs": 20, "test_loss_nats": 162.5, "mse": 0.046, "knn5": 0.556, "auroc": 0.98,
                 "rf_recon": 0.419, "classes": 9, "health": "2 checks"}
    assert variant_headline(train, {}, {})["health"] == "ok"


def test_build_headline_writes_one_file_per_trained_variant(tmp_path):
    params = load_params("params.yaml")
    name = next(iter(params.variants))
    (tmp_path / "metrics/train").mkdir(parents=True)
    (tmp_path / f"metrics/train/{name}.json").write_text(json.dumps({"epochs": 3, "test": {"loss": 1.0}}))
    stale = tmp_path / "metrics/headline/removed_variant.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    build_headline(params, root=tmp_path)
    files = sorted(p.name for p in (tmp_path / "metrics/headline").glob("*.json"))
    assert files == sorted([f"{name}.json", "_studies.json"])
    assert json.loads((tmp_path / f"metrics/headline/{name}.json").read_text())["test_loss"] == 1.0
    assert studies_headline({}) == {}


def test_studies_headline_has_one_number_for_each_new_study():
    rbm = {"inpaint": {"top_12": {"rf_correct_merged": 0.815}, "top_16": {"rf_correct_merged": 0.61}}}
    gan = {"conv": {"frechet_distance": 12.5}, "mlp": {"frechet_distance": 30.1}}
    photo = {"gan": {"laplacian_variance_ratio_to_real": 0.74}, "vae": {"laplacian_variance_ratio_to_real": 0.2}}
    assert studies_headline({"rbm_mnist": rbm, "gan_backbones_mnist": gan, "photo_samples_emoji": photo}) == {
        "rbm_inpaint_top12_rf": 0.815, "gan_conv_frechet": 12.5, "photo_gan_sharpness_ratio": 0.74}
    assert studies_headline({"rbm_mnist": {"inpaint": {}}, "gan_backbones_mnist": {}, "photo_samples_emoji": {}}) == {}


@pytest.mark.slow  # two dvc processes, 3 s
def test_dvc_metrics_show_of_the_committed_run_fits_200_columns_per_section():
    """The committed headline files as `dvc metrics show` prints them: the variants' table
    and the studies' table each within 200 columns (a new headline key must earn its width)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "metrics/headline").glob("*.json"))
    studies = [f for f in files if f.name == "_studies.json"]
    assert studies and len(files) > 10
    dvc = Path(sys.executable).with_name("dvc")
    for section in ([f for f in files if f not in studies], studies):
        out = subprocess.run([str(dvc), "metrics", "show", *map(str, section)], cwd=root, capture_output=True,
                             text=True, env={**os.environ, "COLUMNS": "1000"}, timeout=120)
        assert out.returncode == 0, out.stderr
        widths = [len(line.rstrip()) for line in out.stdout.splitlines()]
        assert len(widths) == len(section) + 1 and max(widths) <= 200, out.stdout.splitlines()[0]
