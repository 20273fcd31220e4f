"""The findings page from small fixture metrics: sections, health panel, generated sentences
that follow the numbers (and say so when intervals overlap), and a self-contained folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aelab.params import load_params
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
            "generate.nearest_train_mse_per_pixel": 0.06,
            "health": {"ok": not warnings, "warnings": warnings or {}}}


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
}


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
        _write(root / f"metrics/train/{name}.json", _train(loss))
        _write(root / f"metrics/eval/{name}.json", _eval(mse, knn, auc, warn))
        _write(root / f"metrics/rf/{name}.json", _rf(acc, classes))
        _png(root / f"plots/eval/{name}/reconstruct.png")
        _png(root / f"plots/eval/{name}/generate.png")
    for tsv in ("train/loss", "test/loss"):  # a dvclive curve for the appendix
        p = root / f"plots/train/mnist_conv_ae_z2/plots/metrics/{tsv}.tsv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("step\tloss\n0\t200\n1\t170\n2\t160\n")
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
                    "Digits: bottleneck size", "Random forest on reconstructions"):
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
