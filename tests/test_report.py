"""The findings page from small fixture metrics: sections, health panel, generated sentences
that follow the numbers (and say so when intervals overlap), and a self-contained folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab.core.params import load_params
from aelab.report import build_report
from aelab.report.text import Rate, compare_rates, ratio
from aelab.stats import wilson

ROOT = Path(__file__).resolve().parents[1]
N = 1000


def _rate(key: str, p: float, n: int = N) -> dict:
    lo, hi = wilson(round(p * n), n)
    return {key: p, f"{key}_n": n, f"{key}_lo": lo, f"{key}_hi": hi}


def _eval(mse: float, knn: float, auc: float, warnings: dict | None = None) -> dict:
    return {"reconstruct.test.mse_per_pixel": mse, "reconstruct.train.mse_per_pixel": mse * 0.9,
            "reconstruct.test.psnr_db": -10 * np.log10(mse), "reconstruct.test.ssim": 0.8,
            "denoise.gauss_0.1.mse_noisy": 0.005, "denoise.gauss_0.1.mse_recon": mse, "denoise.gauss_0.1.gain": 0.005 / mse,
            "denoise.gauss_0.5.mse_noisy": 0.12, "denoise.gauss_0.5.mse_recon": mse * 1.5,
            "denoise.gauss_0.5.gain": 0.12 / (mse * 1.5),
            "inpaint.square_0.4.mse_hole_recon": mse * 4, "inpaint.square_0.4.mse_hole_meanfill": 0.1,
            "anomaly.ood_dataset": "fashion_mnist", **_rate("anomaly.auroc", auc), "anomaly.score_in_mean": mse,
            "anomaly.score_ood_mean": 3 * mse, **_rate("latent.knn_accuracy", knn, 500),
            "generate.nearest_train_mse_per_pixel": 0.06, **_train_side(mse, auc),
            "health": {"ok": not warnings, "warnings": warnings or {}}}


def _train_side(mse: float, auc: float) -> dict:
    """evaluate.train_side keys: `<level>.train.<m>`, `<level>.gap.<m>`, anomaly `train.*`/`gap.*`."""
    out = {"denoise.n_test": 500, "denoise.n_train": 500, "inpaint.n_test": 500, "inpaint.n_train": 500,
           "anomaly.train.n_in": 500}
    for key, test, train in (("denoise.gauss_0.1.mse_recon", mse, mse * 0.8),
                             ("denoise.gauss_0.1.gain", 0.005 / mse, 0.005 / (mse * 0.8)),
                             ("denoise.gauss_0.5.mse_recon", mse * 1.5, mse * 1.5),
                             ("inpaint.square_0.4.mse_hole_recon", mse * 4, mse * 2),
                             ("inpaint.square_0.4.mse_hole_meanfill", 0.1, 0.1)):
        level, _, m = key.rpartition(".")
        out.update({f"{level}.train.{m}": train, f"{level}.gap.{m}": test - train})
    train_auc = 0.999 if auc < 0.98 else auc + 0.001  # z1 (0.979): intervals apart
    out.update({"anomaly.gap.auroc": auc - train_auc, "anomaly.gap.score_in_mean": 0.0,
                **{k.replace("anomaly.", "anomaly.train."): v for k, v in _rate("anomaly.auroc", train_auc).items()}})
    return out


def _rf(acc: float, classes: int = 10) -> dict:
    fractions = {str(i): (1 / classes if i < classes else 0.0) for i in range(10)}
    return {"accuracy": {**_rate("test_originals", 0.94), **_rate("test_reconstructions", acc),
                         **_rate("train_reconstructions", acc + 0.01, 4000),
                         **_rate("test_reconstructions_recon_forest", acc + 0.02)},
            "reconstruction_class_fraction": fractions,
            "samples": {"sampler": "prior", "n": 500, "mean_max_prob": 0.4, "classes_seen": classes,
                        **_rate("top_class_fraction", 1 / classes, 500)},
            "health": {"ok": True, "warnings": {}}}


def _train(loss: float, epochs: int = 20) -> dict:
    return {"model": "conv_ae", "dataset": "mnist", "params": 1000, "epochs": epochs, "loss_units": "nats/image",
            "train": {"loss": loss * 0.95}, "test": {"loss": loss}, "device": "cpu",
            "data_source": "fixture digits"}


# variant: (test loss, MSE, kNN, AUROC, RF on reconstructions, classes in samples, eval warnings)
MNIST = {
    "mnist_conv_vae_z2": (162.0, 0.046, 0.55, 0.988, 0.42, 9, None),
    "mnist_conv_ae_z2": (154.0, 0.046, 0.62, 0.990, 0.43, 10, None),  # within the original's interval
    "mnist_conv_ae_z16": (83.0, 0.014, 0.92, 0.989, 0.90, 10, None),
    "mnist_conv_ae_z1": (174.0, 0.054, 0.45, 0.979, 0.25, 3,
                         {"one_class_dominates": {"why": "one class takes 71% of the reconstructions"}}),
    "mnist_res_conv_ae": (72.0, 0.0098, 0.92, 0.994, 0.919, 10, None),
    "mnist_plain_conv_ae": (77.0, 0.0116, 0.92, 0.992, 0.910, 10, None),
    "mnist_gan": (1.0, 0.015, 0.63, 0.981, 0.88, 10, None),
    "mnist_mlp_gan": (1.1, 0.03, 0.5, 0.982, 0.7, 8, None),  # the new variants (#14)
    "mnist_dbm": (0.5, 0.02, 0.8, 0.985, 0.85, 9, None),
    "mnist_mlp_vae_large": (95.0, 0.012, 0.91, 0.99, 0.92, 10, None),
}
EXTRA_EVAL = {"mnist_mlp_vae_large": {"latent.dim": 300, "latent.active_dims": 128, "latent.kl_nats": 25.8,
                                      "latent.kl_nats_max_dim": 1.37}}
DBM_PHASES = {"pretrain_layer1": {"test_loss": 0.9, "test_recon_mse": 0.03},
              "pretrain_layer2": {"test_loss": 0.7, "test_recon_mse": 0.05},
              "joint": {"test_loss": 0.5, "test_recon_mse": 0.02}}


def _gibbs(shares: list[float]) -> dict:
    """study_rbm's gibbs block: forest accuracy on the originals, then per step MSE and same_class."""
    steps = {str(k): {"mse_per_pixel": 0.02 + 0.01 * i, **_rate("same_class", p, 200)}
             for i, (k, p) in enumerate(zip((1, 2, 5, 10, 100, 1000), shares))}
    return {**_rate("forest_accuracy_originals", 0.93, 200), "steps": steps}


def _holes(who: str, merged: float, mse: float) -> dict:
    """study_rbm's inpaint block: per region × rows, hole MSE of the chain (hole_mse_<who>) and
    the mean fill, forest accuracy on the merged and the mean-filled digits."""
    out = {}
    for region in ("top", "bottom", "left"):
        for rows, drop in ((12, 0.0), (16, 0.2)):
            out[f"{region}_{rows}"] = {"region": region, "rows": rows, "hole_pixels": rows * 28,
                                       f"hole_mse_{who}": mse + drop / 10, "hole_mse_mean_fill": 0.06 + drop / 10,
                                       **_rate("rf_correct_merged", merged - drop, 200),
                                       **_rate("rf_correct_mean_fill", 0.5 - drop, 200)}
    return out


def _noise(top: str, share: float, nearest: float, classes: int) -> dict:
    frac = {str(c): (share if str(c) == top else (1 - share) / 9) for c in range(10)}
    return {"nearest_train_mse": nearest, "classes_seen": classes, "top_class": top,
            **_rate("top_class_share", share, 500), "class_fraction": frac}


def rbm_study(rbm_top: float = 0.30, dbm_top: float = 0.62) -> dict:
    """metrics/studies/rbm_mnist.json as studies.rbm.to_metrics writes it (with the DBM part)."""
    cells = {f"lr{lr:g}_h{h}": {"lr": lr, "hidden": h, "final_test_pseudo_ll": ll, "final_train_pseudo_ll": ll - 5,
                                "best_test_pseudo_ll": ll + 3, "best_test_pass": 8}
             for lr, h, ll in ((0.01, 64, -165.2), (0.01, 200, -113.8), (0.1, 64, -122.0), (0.1, 200, -104.5))}
    return {"variant": "mnist_rbm", "dataset": "mnist", "units": "pseudo-likelihood in nats per image",
            "grid": {"setting": {"n_train": 2000, "n_test": 500, "epochs": 15, "batch_size": 10, "optimizer": "sgd",
                                 "momentum": 0.0, "lr_schedule": "constant", "cd_k": 1, "pcd": True,
                                 "binarize": "dynamic"},
                     "cells": cells, "best": {"cell": "lr0.1_h200", "lr": 0.1, "hidden": 200,
                                              "final_test_pseudo_ll": -104.5}},
            "gibbs": _gibbs([0.755, 0.72, 0.725, 0.665, 0.565, 0.31]),
            "inpaint": _holes("rbm", 0.815, 0.044), "forest": {"n_fit": 4000}, "components": {"n": 200},
            "dbm": {"variant": "mnist_dbm", "gibbs": _gibbs([0.8, 0.79, 0.78, 0.77, 0.76, 0.75]),
                    "inpaint": _holes("dbm", 0.83, 0.040), "components": {"layer1": 500, "layer2": 1000}},
            "samples_from_noise": {"units": "MSE per pixel", "n_train_searched": 5000, "min_class_share": 0.01,
                                   "test_digits_nearest_train_mse": 0.030,
                                   "rbm": _noise("3", rbm_top, 0.024, 9), "dbm": _noise("8", dbm_top, 0.045, 6)}}


def _backbone(variant: str, frechet: float, missing: tuple[str, ...], top: str, share: float) -> dict:
    rest = [str(c) for c in range(10) if str(c) not in missing and str(c) != top]
    frac = {str(c): 0.0 for c in range(10)} | {c: (1 - share) / len(rest) for c in rest} | {top: share}
    return {"variant": variant, "n_samples": 1000, "mean_max_prob": 0.55, "classes_seen": 10 - len(missing),
            **_rate("top_class_share", share), "frechet_distance": frechet, "class_fraction": frac,
            "train": {"epochs": 30, "params": 1_000_000, "loss_units": "nats/sample", "final_train_d_loss": 1.1,
                      "final_train_g_loss": 0.9, "final_test_d_loss": 1.2, "final_test_g_loss": 0.95}}


def gan_study(conv: float = 12.0, mlp: float = 30.0) -> dict:
    """metrics/studies/gan_backbones_mnist.json as studies.gan_backbones.compute writes it."""
    return {"dataset": "mnist", "n_forest_fit": 4000, "n_real_test": 1000,
            "fid_features": "hidden layer (128 ReLU units) of an sklearn MLPClassifier",
            "fid_feature_net_test_accuracy": 0.95, "frechet_floor_test_halves": 0.8,
            "units": "Fréchet distance: squared, in feature units²", "min_class_share": 0.01,
            "conv": _backbone("mnist_gan", conv, ("1",), "3", 0.2),
            "mlp": _backbone("mnist_mlp_gan", mlp, ("1", "7"), "0", 0.22),
            "frechet_ratio_mlp_to_conv": mlp / conv}


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    for name, (loss, mse, knn, auc, acc, classes, warn) in MNIST.items():
        _write(root / f"metrics/train/{name}.json", _train(loss) | ({"phases": DBM_PHASES} if name == "mnist_dbm"
                                                                      else {}))
        _write(root / f"metrics/eval/{name}.json", _eval(mse, knn, auc, warn) | EXTRA_EVAL.get(name, {}))
        _write(root / f"metrics/rf/{name}.json", _rf(acc, classes))
        _png(root / f"plots/eval/{name}/reconstruct.png")
        _png(root / f"plots/eval/{name}/generate.png")
    for tsv in ("train/loss", "test/loss"):  # a dvclive curve for the appendix
        p = root / f"plots/train/mnist_conv_ae_z2/plots/metrics/{tsv}.tsv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("step\tloss\n0\t200\n1\t170\n2\t160\n")
    for step, phase in enumerate(("layer1", "layer2", "joint")):  # the DBM's phases, as dvclive writes them
        for split in ("train", "test"):
            p = root / f"plots/train/mnist_dbm/plots/metrics/{phase}/{split}/loss.tsv"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"step\tloss\n{2 * step}\t3\n{2 * step + 1}\t2\n")
    _png(root / "plots/preprocess/mnist.png")
    _write(root / "metrics/studies/rbm_mnist.json", rbm_study())
    _write(root / "metrics/studies/gan_backbones_mnist.json", gan_study())
    for fig in ("gibbs_steps", "inpainting", "rbm_vs_dbm_samples", "grid"):
        _png(root / f"plots/studies/rbm_mnist/{fig}.png")
    for fig in ("samples", "classes", "losses"):
        _png(root / f"plots/studies/gan_backbones_mnist/{fig}.png")
    digits = {f"digits_ae_z{z}": {"bottleneck": z, "test_mse_per_pixel": m, "train_mse_per_pixel": m * 0.8,
                                  "rf": {**_rate("accuracy_reconstructions", a, 450),
                                         **_rate("accuracy_originals", 0.987, 450)}}
              for z, m, a in ((2, 0.0324, 0.822), (4, 0.0200, 0.929), (8, 0.0120, 0.958))}
    _write(root / "metrics/studies/digits.json", {"variants": digits})
    _write(root / "metrics/studies/fmnist_ae_vs_vae_z2.json", {
        "ae": {"variant": "fmnist_mlp_ae_z2", "test_bce_nats_per_image": 173.3, "test_mse_per_pixel": 0.069,
               **_rate("latent_knn5_accuracy", 0.644, 2000)},
        "vae": {"variant": "fmnist_mlp_vae_z2", "test_bce_nats_per_image": 174.6, "test_mse_per_pixel": 0.069,
                **_rate("latent_knn5_accuracy", 0.648, 2000), "test_neg_elbo_per_image": 182.8,
                "test_kl_nats_per_image": 7.3},
        "n_test": 2000, "passes": 10})
    params = load_params(ROOT / "params.yaml")
    out = build_report(params, root=root)
    return root, out, (out / "README.md").read_text(), (out / "index.html").read_text()


def test_page_has_contents_summary_health_and_the_question_sections(built):
    _, _, md, page = built
    for heading in ("Contents", "Run summary", "Health", "MNIST: the Keras conv VAE", "Choosing a latent size",
                    "Training vs test samples", "Do residual blocks help?", "Task: denoising", "Task: inpainting",
                    "Task: anomaly detection", "Task: generation", "AE vs VAE", "VAE vs GAN",
                    "Digits: bottleneck size", "Random forest on reconstructions",
                    "RBM and DBM: Gibbs chains, inpainting and samples", "Feed-forward vs convolutional GAN"):
        assert heading in md and heading in page, heading
    assert page.index("Run summary") < page.index("id='health'") < page.index("id='mnist'")
    assert "fixture digits" in md  # the summary names the data source
    health = md[md.index("## Health"):md.index("## MNIST")]
    assert "mnist_conv_ae_z1" in health and "one class takes 71%" in health
    assert "<details>" in page  # per-variant detail is collapsed


def test_sentences_follow_the_numbers(built):
    _, _, md, _ = built
    # z16 vs the AE twin: intervals far apart → a ranking; the AE twin vs the original overlap → no ranking
    z16 = next(line for line in md.splitlines() if line.startswith("- `mnist_conv_ae_z16` ("))
    assert "the intervals do not overlap: `mnist_conv_ae_z16` is higher" in z16
    assert "3.3× lower" in z16  # 0.014 vs 0.046 MSE
    twin = next(line for line in md.splitlines() if line.startswith("- `mnist_conv_ae_z2` ("))
    assert "within each other's 95% intervals" in twin
    assert "Bottleneck 8 reconstructs test digits with 0.012 MSE/pixel, 2.7× lower than bottleneck 2" in md
    assert "the forest still reads 95.8%" in md
    assert "with skips 91.9%" in md and "within each other's 95% intervals" in md  # residual: a tie
    assert "latent size 16, the best measured" in md  # the rule on z1/z2/z16
    assert "`mnist_conv_ae_z1` show fewer than half of the classes" in md


def test_train_side_keys_add_train_vs_test_findings_not_task_levels(built):
    _, _, md, _ = built
    def section(title: str) -> str:
        start = md.index(f"## {title}")
        return md[start:md.index("\n## ", start)]

    denoise, inpaint = section("Task: denoising"), section("Task: inpainting")
    for text in (denoise, inpaint):
        assert ".train" not in text and ".gap" not in text and "train." not in text
    assert "| gain gauss_0.1 | gain gauss_0.5 |" in denoise  # the two levels, nothing else
    assert inpaint.count(": model / mean fill") == 1  # square_0.4 only
    sides = section("Training vs test samples")
    assert "also score as many training images as test images" in sides
    assert "denoise test / train" in sides and "AUROC train / test in-distribution" in sides
    # test/train medians over levels: gauss_0.1 1.25×, gauss_0.5 1× → median (upper) 1.25; inpaint 2×
    assert "The denoising error (MSE vs the clean image) on test images is a median 1.25×" in sides
    assert "The inpainting error inside the hole on test images is a median 2.00×" in sides
    assert "for 9 of 10 variants its AUROC and the test AUROC are within each other's 95% intervals" in sides
    assert "for `mnist_conv_ae_z1` the intervals do not overlap (higher on training images: `mnist_conv_ae_z1`)" \
        in sides


def _section(md: str, title: str) -> str:
    start = md.index(f"## {title}")
    end = md.find("\n## ", start)
    return md[start:end if end > 0 else None]


def test_rbm_section_answers_from_the_numbers(built):
    _, out, md, page = built
    sec = _section(md, "RBM and DBM: Gibbs chains, inpainting and samples (MNIST)")
    assert "Grid: the best cell is lr 0.1 with 200 hidden units, final test pseudo-likelihood -104.5" in sec
    # RBM chain: 75.5% after 1 step vs 31.0% after 1000 → apart; DBM 80% vs 75% → overlap
    assert "RBM chain: the forest labels 93.0%" in sec
    assert "in 31.0% (25.0–37.7, n = 200) after 1000 — the intervals do not overlap: the chain drifts away" in sec
    assert "DBM chain:" in sec and "more sampling does not measurably lose the digit here" in sec
    assert "After 1000 steps, the share still labelled as the digit's class: the RBM 31.0%" in sec
    assert "do not overlap: the DBM is higher" in sec
    assert ("12 rows removed: the RBM's fill has a lower hole MSE than the mean image in 3 of 3 regions; the forest" in sec
            and "better than the mean-filled ones in 3 of 3 regions (intervals apart)" in sec)
    assert "DBM vs RBM at 12 rows:" in sec and "within the intervals in 3 of 3 regions" in sec
    assert "the forest sees 9 classes in the RBM's samples and 6 in the DBM's (a class counts from a 1% share)" in sec
    assert "real test digits 0.03; the RBM's samples 0.024 (1.25× lower, closer); the DBM's samples 0.045" in sec
    assert "| region | rows | hole MSE RBM | hole MSE DBM |" in sec
    assert "figures/studies/rbm_mnist/rbm_vs_dbm_samples.png" in sec and "rbm_vs_dbm_samples.png" in page
    assert "grid.png" not in sec  # three figures at most: the samples figure replaces the grid


def test_rbm_sentences_flip_with_the_numbers(built):
    from aelab.report import energy
    from aelab.report.gather import load_run

    root, *_ = built
    run = load_run(load_params(ROOT / "params.yaml"), root)
    line = lambda: next(f for f in energy.rbm_dbm(run).findings if f.startswith("Share of the most"))  # noqa: E731
    run.studies["rbm_mnist"] = rbm_study(rbm_top=0.62, dbm_top=0.30)
    assert "the RBM ('3') 62.0%" in line() and "do not overlap: the RBM ('3') is higher" in line()
    run.studies["rbm_mnist"] = rbm_study(rbm_top=0.45, dbm_top=0.47)
    assert "within each other's 95% intervals" in line()
    no_dbm = {k: v for k, v in rbm_study().items() if k not in ("dbm", "samples_from_noise")}
    run.studies["rbm_mnist"] = no_dbm  # the trial run's file: no DBM part
    s = energy.rbm_dbm(run)
    assert not any("DBM" in f for f in s.findings) and "hole MSE DBM" not in s.table[0]
    assert [p.name for p, _ in s.figures] == ["gibbs_steps.png", "inpainting.png", "grid.png"]


def moons_study(adopted: list[float], base: list[float]) -> dict:
    """metrics/studies/moons.json as studies.moons_study writes it (the parts the report reads)."""
    from aelab.studies.common import stats
    from aelab.studies.compare import versus

    return {"adopted_from_sweep": {"lr": 0.003, "hidden_size": 32},
            "spread": {"model_seeds": {**stats(adopted), "values": adopted},
                       "base_model_seeds": {**stats(base), "values": base}, "vs_base": versus(adopted, base),
                       "data_seeds": {**stats(adopted), "values": adopted}},
            "codes_gmm": {"gmm_components": 4, "mmd2_synthetic_vs_test": 0.001, "mmd2_floor_real_vs_test": 0.0005},
            "noise": {"test_mse_ratio_noisy_vs_clean": 3.0,
                      "curve_dist_to_noiseless_moons": {"train_noise_0.2": 0.05, "train_noise_0.1": 0.03}}}


def test_moons_section_says_whether_the_adopted_setting_beats_the_base(built):
    from aelab.report import moons
    from aelab.report.gather import load_run

    root, *_ = built
    run = load_run(load_params(ROOT / "params.yaml"), root)
    line = lambda: next(f for f in moons.moons(run).findings if f.startswith("Against the base"))  # noqa: E731
    run.studies["moons"] = moons_study([0.027, 0.029, 0.028, 0.026, 0.030], [0.020, 0.022, 0.021, 0.023, 0.021])
    assert "the base setting scores 0.0214 ± 0.00102" in line()
    assert "is worse than the base setting: the per-axis bests do not combine" in line()
    run.studies["moons"] = moons_study([0.015, 0.016, 0.014, 0.015, 0.016], [0.020, 0.022, 0.021, 0.023, 0.021])
    assert "beats the base setting: the per-axis bests combine" in line()
    run.studies["moons"] = moons_study([0.020, 0.026, 0.018, 0.024, 0.021], [0.021, 0.022, 0.025, 0.019, 0.023])
    assert "does not differ from the base setting beyond seed noise" in line()


def sweep_study(axis: str, base: list[float], best: list[float]) -> dict:
    """metrics/studies/moons_sweep_<axis>.json as studies.sweep writes it: two values, base first."""
    from aelab.studies.compare import versus
    from aelab.studies.common import stats

    return {"axis": axis, "values": ["a", "b"], "repeats": len(base),
            "points": {"a": {"value": "a", "diverged": 0, "test_mse": stats(base)},
                       "b": {"value": "b", "diverged": 0, "test_mse": stats(best)}},
            "best": {"value": "b", "test_mse_mean": sum(best) / len(best), "vs_base": versus(best, base)}}


def test_moons_section_says_which_sweep_winners_beat_the_base(built):
    from aelab.report import moons
    from aelab.report.gather import load_run

    root, *_ = built
    run = load_run(load_params(ROOT / "params.yaml"), root)
    run.studies["moons_sweep_lr"] = sweep_study("lr", [0.020, 0.021, 0.022], [0.010, 0.011, 0.012])
    run.studies["moons_sweep_layers"] = sweep_study("layers", [0.020, 0.026], [0.019, 0.024])
    s = moons.moons(run)
    line = next(f for f in s.findings if f.startswith("Best vs base"))
    assert "beyond seed noise only for lr; 1 of 2 sweep winners are within it" in line
    cells = {row[0]: row[5] for row in s.table[1]}
    assert cells["lr"].startswith("lower (p ") and cells["layers"].startswith("within seed noise (p ")
    assert next(f for f in s.findings if f.startswith("Sweep over lr")).startswith(
        "Sweep over lr: best b with test MSE 0.011 (vs the base: lower (p ")


def test_mmd_sentence_reads_a_gap_within_the_real_vs_real_noise_as_a_tie():
    from aelab.report.moons import mmd_vs_reference

    ref = {"test_mse": 0.05, "synthetic_mmd2_vs_test": 0.0139, "synthetic_dist_to_noiseless_moons": 0.10}
    close = {"test_mse": 0.02, "synthetic_mmd2_vs_test": 0.0153, "synthetic_dist_to_noiseless_moons": 0.12}
    line = mmd_vs_reference("moons_mmd_resnet_z2", close, ref, noise=0.0045)
    assert "MMD² cannot tell them apart (gap 0.0014 ≤ noise 0.0045)" in line
    assert "the curve favours the bottleneck AE" in line and "(better, with one more code dimension)" in line
    far = {**close, "synthetic_mmd2_vs_test": 0.0040}  # 0.0099 lower: beyond the noise
    assert "the two measures disagree: closer in distribution (MMD²), further from the curve" in \
        mmd_vs_reference("m", far, ref, noise=0.0045)
    both = {**far, "synthetic_dist_to_noiseless_moons": 0.05}
    assert mmd_vs_reference("m", both, ref, noise=0.0045).endswith("— both measures favour it.")


def test_gan_backbones_section_names_the_missing_classes(built):
    _, _, md, _ = built
    sec = _section(md, "Feed-forward vs convolutional GAN (MNIST)")
    assert "Fréchet distance to real test digits: conv 12 vs MLP 30 (2.5× higher for the MLP" in sec
    assert "the gap is larger than that floor: the conv GAN's samples are closer" in sec
    assert "The forest sees 9 classes in the conv GAN's samples and 8 in the MLP GAN's" in sec
    assert "neither produces a '1'; the MLP GAN misses a '7'" in sec
    assert "Share of the most frequent class: conv ('3') 20.0%" in sec and "within each other's" in sec
    assert "| conv GAN | `mnist_gan` |" in sec


def test_gan_backbones_sentence_flips_and_respects_the_floor(built):
    from aelab.report import backbones
    from aelab.report.gather import load_run

    root, *_ = built
    run = load_run(load_params(ROOT / "params.yaml"), root)
    run.studies["gan_backbones_mnist"] = gan_study(conv=30.0, mlp=12.0)
    first = backbones.gan_backbones(run).findings[0]
    assert "conv 30 vs MLP 12 (2.5× lower for the MLP" in first and "the MLP GAN's samples are closer" in first
    run.studies["gan_backbones_mnist"] = gan_study(conv=12.0, mlp=12.5)  # gap 0.5 < floor 0.8
    assert "does not separate the backbones" in backbones.gan_backbones(run).findings[0]


def test_missing_study_files_skip_cleanly_and_are_listed(built, tmp_path):
    from aelab.report import backbones, energy
    from aelab.report.gather import load_run

    _, _, md, _ = built
    health = md[md.index("## Health"):md.index("## MNIST")]
    assert "Left out, no metrics in this run:" in health and "Photo study" in health
    run = load_run(load_params(ROOT / "params.yaml"), tmp_path)  # no metrics at all
    assert energy.rbm_dbm(run).empty and backbones.gan_backbones(run).empty
    _write(tmp_path / "metrics/studies/digits.json", {"variants": {"digits_ae_z2": {
        "bottleneck": 2, "test_mse_per_pixel": 0.03, "train_mse_per_pixel": 0.02}}})
    out = build_report(load_params(ROOT / "params.yaml"), root=tmp_path)
    page = (out / "README.md").read_text()
    left = page[page.index("Left out"):].splitlines()[0]
    assert "RBM and DBM" in left and "Feed-forward vs convolutional GAN" in left
    assert "## RBM and DBM" not in page and "## Feed-forward" not in page


def test_new_variants_previews_kl_and_phases(built):
    from aelab.report.curves import curve_series

    root, out, md, page = built
    mnist = _section(md, "MNIST: the Keras conv VAE and its modifications")
    for n in ("mnist_mlp_gan", "mnist_dbm"):
        assert f"| {n} |" in mnist
    assert ("`mnist_mlp_vae_large`: its strongest latent dimension carries 1.37 nats of test KL of 25.8 in total "
            "over 300 dimensions (128 active); the posterior-collapse check did not fire") in mnist
    # the previews sit collapsed after the health panel: the first screen keeps contents,
    # run summary and health
    assert "raw originals" not in md[md.index("## Run summary"):md.index("## Health")]
    after_health = md[md.index("## Health"):]
    data = after_health[after_health.index("<summary>Data: raw originals above what the models see"):]
    data = data[:data.index("</details>")]
    assert "`mnist`: raw originals above what the models see" in data
    assert "figures/preprocess/mnist.png" in data and "class='small'" in page
    assert (out / "figures/preprocess/mnist.png").is_file()
    assert set(curve_series(root / "plots/train/mnist_dbm")) == {("layer1", "loss"), ("layer2", "loss"),
                                                                 ("joint", "loss")}
    assert (out / "curves/mnist_dbm.png").is_file()
    assert "| mnist_dbm | pretrain_layer1 | 0.9 | 0.03 |" in md  # Appendix A: the training phases


def test_folder_is_self_contained(built):
    root, out, md, page = built
    links = re.findall(r"src='([^']+)'", page) + re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and not any(link.startswith(("http", "/", "..")) for link in links)
    for link in links:
        assert (out / link).is_file(), link
    assert "../plots" not in page


def test_compare_rates_never_ranks_overlapping_or_unknown_intervals():
    a, b = Rate(0.50, 100, 0.40, 0.60), Rate(0.55, 100, 0.45, 0.65)
    assert "within each other's" in compare_rates("a", a, "b", b, "x")
    assert "cannot say" in compare_rates("a", Rate(0.5), "b", Rate(0.9), "x")
    far = compare_rates("a", Rate(0.9, 100, 0.85, 0.95), "b", b, "x")
    assert "do not overlap: a is higher" in far
    assert ratio(0.012, 0.0324) == "2.7× lower" and ratio(1.0, 1.002) == "the same"


CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  const outside = performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith('file:'));
  document.body.setAttribute('data-check', JSON.stringify({images: imgs.length, broken, outside}));
});
</script>"""


def _chromium() -> str | None:
    import shutil

    return next((p for p in (shutil.which(c) for c in ("chromium", "chromium-browser")) if p), None)


@pytest.mark.slow  # a browser (the README's test command runs it)
def test_copied_report_opens_offline_in_headless_chromium(built, tmp_path):
    """Chromium (installed by scripts/setup.sh) loads the page from a copied folder with the
    network blocked: every image decodes, nothing is requested from outside the folder."""
    import shutil
    import subprocess

    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs Debian's chromium)")
    _, out, _, page = built
    copy = tmp_path / "elsewhere" / "report"
    shutil.copytree(out, copy)
    (copy / "check.html").write_text(page.replace("</body>", CHECK + "</body>"))
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--virtual-time-budget=10000", "--dump-dom", (copy / "check.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'data-check="([^"]*)"', dom)
    assert found, dom[-2000:]
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["images"] == page.count("<img") > 0
    assert check["broken"] == [] and check["outside"] == []
    shot = tmp_path / "report_top.png"  # kept in pytest's tmp folder for a look
    subprocess.run(flags + ["--window-size=1400,1000", f"--screenshot={shot}", (copy / "index.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 10_000


def _curve(root, variant: str, rel: str, term: str, values) -> None:
    """A dvclive TSV: plots/train/<variant>/plots/metrics/<rel>/<term>.tsv."""
    f = root / variant / "plots" / "metrics" / rel / f"{term}.tsv"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("step\t" + term + "\n" + "".join(f"{i}\t{v}\n" for i, v in enumerate(values)))


def test_unsettled_final_epochs_are_flagged_and_settled_ones_are_not(tmp_path):
    """The training-curve health check reads the test reconstruction term of the main
    training: a tail swinging over half its final value is flagged (the two-moons MMD AEs at a
    constant lr did 0.005–0.056 around 0.018); a steady tail, a noisy loss/MMD² term, a
    phased (GAN encoder) curve and a train-only curve are not."""
    from aelab.report.curves import unsettled
    from aelab.report.tables import health_table

    settled = [1.0 / (i + 1) for i in range(40)]
    swinging = settled[:-4] + [0.005, 0.056, 0.02, 0.018]
    _curve(tmp_path, "swings", "test", "recon_sse", swinging)
    _curve(tmp_path, "steady", "test", "recon_mse", settled)
    _curve(tmp_path, "steady", "test", "mmd2", swinging)          # an estimator's noise: not read
    _curve(tmp_path, "gan", "test", "d_loss", swinging)           # no reconstruction term
    _curve(tmp_path, "gan", "encoder/test", "recon_sse", swinging)  # a phase, not the main training
    _curve(tmp_path, "train_only", "train", "recon_bce", swinging)
    rows = unsettled(tmp_path)
    assert [r[:3] for r in rows] == [["swings", "train", "final epoch not settled"]]
    assert "0.005–0.056" in rows[0][3] and "last 4 epochs" in rows[0][3] and "final 0.018" in rows[0][3]
    header, table = health_table({"eval": {"m": {"health": {"warnings": {"c": {"why": "w"}}}}}}, rows)
    assert ["swings", "train", "final epoch not settled", rows[0][3]] in table and ["m", "evaluate", "c", "w"] in table
