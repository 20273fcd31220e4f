"""The task suite against models whose answers are known, and evaluate@ end to end.

IdentityAE (encode = flatten, decode = reshape) reconstructs perfectly and
deterministically; NoiseAE ignores its input; RowMeanAE projects onto images that are
constant along each row, so it is perfect on row-striped images (in-distribution here)
and bad on column-striped ones (OOD).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from aelab.data.contract import Processed, save_processed, standardization
from aelab.core.errors import ConfigError
from aelab.models import build_model
from aelab.models.base import Autoencoder, ModelOutput
from aelab.tasks import TASKS, ood_choice, ood_dataset_for
from aelab.tasks.config import EvaluateParams
from aelab.tasks.common import make_context, mse_per_sample

torch.set_num_threads(1)

SMALL = EvaluateParams(max_test=120, max_train=160, batch_size=64, n_show=4, n_samples=8,
                       gmm_components=(1, 2, 3), latent_grid_side=4, interpolate_pairs=2,
                       interpolate_steps=4, consistency_repeats=4, consistency_images=2,
                       silhouette_max=100, n_generate_points=200)


# ---- test models ----

class IdentityAE(Autoencoder):
    def __init__(self, input_shape):
        super().__init__(None, input_shape)
        self.latent_dim = math.prod(input_shape)
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the model a device

    def encode(self, x):
        return x.flatten(1)  # (B, prod(shape))

    def decode(self, z):
        return z.reshape(z.shape[0], *self.input_shape)

    def forward(self, x, y=None):
        z = self.encode(x)
        return ModelOutput((self.anchor * 0).sum(), self.decode(z), z)


class NoiseAE(IdentityAE):
    """Outputs uniform noise whatever the input."""

    def decode(self, z):
        return torch.rand(z.shape[0], *self.input_shape)


class RowMeanAE(IdentityAE):
    """Code = each row's mean (B, C·H); decode repeats it along the row."""

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.latent_dim = input_shape[0] * input_shape[1]

    def encode(self, x):
        return x.mean(-1).flatten(1)

    def decode(self, z):
        c, h, w = self.input_shape
        return z.reshape(-1, c, h, 1).expand(-1, c, h, w)


class PriorOnlyGAN(IdentityAE):
    """A generator without encoder, as a GAN is."""

    has_prior = True
    has_encoder = False

    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.latent_dim = 2
        self.lin = torch.nn.Linear(2, math.prod(input_shape))

    def decode(self, z):
        return torch.sigmoid(self.lin(z)).reshape(-1, *self.input_shape)


# ---- tiny data ----

def image_meta(name, shape, n_classes=2):
    return {"name": name, "kind": "image", "shape": list(shape), "value_range": [0, 255],
            "binarized": True, "class_names": [f"class {i}" for i in range(n_classes)],
            "source": "test", "skipped": {}}


def striped(n, shape=(1, 8, 8), axis="rows", seed=0) -> Processed:
    """Binary images constant along rows (axis='rows') or along columns; label = first stripe."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    bits = rng.integers(0, 2, size=(2 * n, c, h if axis == "rows" else w))
    if axis == "rows":
        x = np.repeat(bits[..., :, None], w, axis=-1)
    else:
        x = np.repeat(bits[..., None, :], h, axis=-2)
    x = (x * 255).astype(np.uint8)
    y = bits[:, 0, 0].astype(np.int64)
    return Processed(x[:n], y[:n], x[n:], y[n:], image_meta(f"{axis}_stripes", shape))


def gray(n, value=128, shape=(1, 8, 8)) -> Processed:
    x = np.full((2 * n, *shape), value, np.uint8)
    y = np.arange(2 * n, dtype=np.int64) % 2
    return Processed(x[:n], y[:n], x[n:], y[n:], image_meta("gray", shape))


def moons(n=200, seed=0) -> Processed:
    from sklearn.datasets import make_moons

    def split(noise, s):
        x, y = make_moons(n, noise=noise, random_state=s)
        return x.astype(np.float32), y.astype(np.int64)

    (xt, yt), (xs, ys), (xn, yn) = split(0.1, seed), split(0.1, seed + 1), split(0.2, seed + 2)
    meta = {"name": "moons", "kind": "points", "shape": [2], "value_range": None, "binarized": False,
            "class_names": ["upper", "lower"], "source": "test", "skipped": {},
            "standardize": standardization(xt)}
    return Processed(xt, yt, xs, ys, meta, {"x_test_noise0.2": xn, "y_test_noise0.2": yn})


def ctx_for(model, data, tmp_path, params=SMALL, **kw):
    return make_context(model, data, params, tmp_path / "plots", **kw)


# ---- reconstruction, consistency, inpainting, denoising: exact answers ----

def test_identity_reconstructs_exactly(tmp_path):
    ctx = ctx_for(IdentityAE((1, 8, 8)), striped(150), tmp_path)
    out = TASKS["reconstruct"].run(ctx)
    assert out["test.mse_per_pixel"] == 0 and out["train.mse_per_pixel"] == 0
    assert out["gap.mse_per_pixel"] == 0
    assert out["test.psnr_db"] == pytest.approx(120.0)  # the 1e-12 MSE floor
    assert out["test.ssim"] == pytest.approx(1.0, abs=1e-5)
    assert out["n_test"] == 120 and out["n_train"] == 150  # max_test caps; fewer train than cap
    assert (ctx.plots / "reconstruct.png").stat().st_size > 0


def test_deterministic_consistency_is_zero_and_vae_is_not(tmp_path):
    data = striped(150)
    det = TASKS["consistency"].run(ctx_for(IdentityAE((1, 8, 8)), data, tmp_path))
    assert det["pixel_std_mean"] == 0 and det["pixel_std_max"] == 0
    vae = build_model("mlp_vae", {"latent_dim": 2, "hidden_size": 16, "layers": 1}, (1, 8, 8))
    sto = TASKS["consistency"].run(ctx_for(vae, data, tmp_path))
    assert sto["pixel_std_mean"] > 1e-3 and sto["stochastic_flag"] is True


def test_identity_inpainting_returns_the_masked_input(tmp_path):
    from aelab.tasks.corrupt import inpaint, square_keep_mask

    ctx = ctx_for(IdentityAE((1, 8, 8)), striped(150), tmp_path)
    out = TASKS["inpaint"].run(ctx)
    for key in ("square_0.25", "square_0.4", "square_0.55", "top_rows_0.4"):
        assert out[f"{key}.mse_hole_meanfill"] > 0.05  # binary pixels vs a ~0.5 mean
        assert out[f"{key}.mse_hole_recon"] == pytest.approx(out[f"{key}.mse_hole_meanfill"], abs=1e-7)
        assert out[f"{key}.mse_hole_iterative"] == pytest.approx(out[f"{key}.mse_hole_meanfill"], abs=1e-7)
    assert out["square_0.25.side_px"] == 2 and out["top_rows_0.4.rows_px"] == 3
    keep = square_keep_mask(5, 8, 8, 3, torch.Generator().manual_seed(0))
    assert torch.all((1 - keep).flatten(1).sum(1) == 9)  # exactly one 3×3 hole per image
    x = ctx.x_test[:5]
    masked, recon, _ = inpaint(ctx, x, keep, torch.full((1, 1, 8, 8), 0.5), passes=1)
    assert torch.equal(recon, masked)


def test_denoise_units_and_identity_gain(tmp_path):
    params = EvaluateParams(**{**SMALL.__dict__, "noise_sigmas": (0.1,), "salt_pepper_rates": (0.2,)})
    out = TASKS["denoise"].run(ctx_for(IdentityAE((1, 8, 8)), gray(150), tmp_path, params))
    # mid-gray images: clipping at 0/1 is 5σ away, so the noisy MSE is σ² per pixel
    assert out["gauss_0.1.mse_noisy"] == pytest.approx(0.01, rel=0.05)
    # salt & pepper on 128/255: a hit pixel errs by ~0.5, so MSE ≈ rate · 0.25
    assert out["sp_0.2.mse_noisy"] == pytest.approx(0.2 * 0.25, rel=0.1)
    for key in ("gauss_0.1", "sp_0.2"):
        assert out[f"{key}.mse_recon"] == out[f"{key}.mse_noisy"] and out[f"{key}.gain"] == 1.0


# ---- anomaly ----

def anomaly_auroc(model, tmp_path) -> float:
    ood = striped(150, axis="cols", seed=1)
    ctx = ctx_for(model, striped(150), tmp_path, ood=ood, ood_name="cols")
    out = TASKS["anomaly"].run(ctx)
    assert out["n_in"] == out["n_ood"] == 120
    assert (ctx.plots / "anomaly_scores.png").exists() and (ctx.plots / "anomaly_demo.png").exists()
    return out["auroc"]


def test_anomaly_auroc_chance_for_noise_and_one_for_perfect_model(tmp_path):
    torch.manual_seed(0)
    # binary images: E[(u − x)²] is 1/3 for x = 0 or 1, so noise scores cannot tell the sets apart
    assert anomaly_auroc(NoiseAE((1, 8, 8)), tmp_path) == pytest.approx(0.5, abs=0.12)
    assert anomaly_auroc(RowMeanAE((1, 8, 8)), tmp_path) > 0.99


def test_anomaly_without_ood_is_skipped_with_reason(tmp_path):
    from aelab.tasks.common import TaskSkipped

    ctx = ctx_for(IdentityAE((1, 8, 8)), striped(50), tmp_path, ood_reason="OOD not enabled")
    with pytest.raises(TaskSkipped, match="OOD not enabled"):
        TASKS["anomaly"].run(ctx)


def test_convert_images_shapes_and_colour():
    from aelab.tasks.anomaly import convert_images

    g = torch.full((2, 1, 28, 28), 0.5)
    rgb = convert_images(g, (3, 32, 32), tint=(1.0, 0.5, 0.0))
    assert rgb.shape == (2, 3, 32, 32)
    assert torch.allclose(rgb[:, :, 5, 5], torch.tensor([0.5, 0.25, 0.0]), atol=1e-5)
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1.0
    assert torch.allclose(convert_images(red, (1, 8, 8)), torch.full((1, 1, 8, 8), 0.299))


# ---- generation, interpolation, latent ----

def test_gmm_sampler_is_reproducible_and_picks_two_clusters():
    from aelab.tasks.generative import CodeGMM

    rng = np.random.default_rng(0)
    z = np.r_[rng.normal(-5, 0.5, (200, 2)), rng.normal(5, 0.5, (200, 2))]
    a, b = CodeGMM.fit(z, (1, 2, 3, 4), seed=3), CodeGMM.fit(z, (1, 2, 3, 4), seed=3)
    assert a.n_components == 2
    assert np.array_equal(a.sample(50, seed=7), b.sample(50, seed=7))
    assert np.array_equal(a.sample(50, seed=7), a.sample(50, seed=7))
    assert not np.array_equal(a.sample(50, seed=7), a.sample(50, seed=8))
    assert abs(a.sample(2000, seed=1).mean(0)).max() < 0.5  # balanced mixture around 0


def test_generate_names_its_sampler(tmp_path):
    data = striped(150, shape=(1, 4, 4))
    ae = TASKS["generate"].run(ctx_for(IdentityAE((1, 4, 4)), data, tmp_path))
    assert ae["sampler"] == "gmm" and ae["gmm_components"] in (1, 2, 3)
    vae = build_model("mlp_vae", {"latent_dim": 2, "hidden_size": 8, "layers": 1}, (1, 4, 4))
    ctx = ctx_for(vae, data, tmp_path)
    out = TASKS["generate"].run(ctx)
    assert out["sampler"] == "prior" and "gmm_components" not in out
    assert out["latent_grid"].startswith("train code range")  # it has an encoder network
    assert (ctx.plots / "generate_latent_grid.png").exists()


def test_encoderless_model_only_generates_and_interpolates(tmp_path):
    gan, data = PriorOnlyGAN((1, 8, 8)), striped(60)
    applies = {name: t.applies(gan, data) for name, t in TASKS.items()}
    assert {n for n, (ok, _) in applies.items() if ok} == {"generate", "interpolate"}
    assert "no encoder" in applies["reconstruct"][1]
    out = TASKS["interpolate"].run(ctx_for(gan, data, tmp_path))
    assert out["endpoints"] == "prior" and out["mean_step_mse_per_pixel"] > 0
    gen = TASKS["generate"].run(ctx_for(gan, data, tmp_path))
    assert gen["sampler"] == "prior" and gen["latent_grid"].startswith("N(0, 1) quantiles")


def test_latent_cluster_metrics_on_separable_codes(tmp_path):
    # identity codes of row-striped images: the label (first row) is one coordinate of the code
    out = TASKS["latent"].run(ctx_for(IdentityAE((1, 4, 4)), striped(150, shape=(1, 4, 4)), tmp_path))
    assert out["projection"] == "pca" and out["dim"] == 16
    assert out["knn_accuracy"] > 0.9 and -1 <= out["silhouette"] <= 1
    assert out["active_dims"] == 16  # every pixel of the stripes varies (variance 0.25)


def test_latent_counts_only_the_code_dimensions_that_vary(tmp_path):
    data = striped(150, shape=(1, 4, 4))
    for x in (data.x_train, data.x_test):
        x[:, :, 2:, :] = 0  # the bottom two rows are always black: 8 of the 16 codes never move
    out = TASKS["latent"].run(ctx_for(IdentityAE((1, 4, 4)), data, tmp_path))
    assert out["dim"] == 16 and out["active_dims"] == 8


def test_latent_reports_the_kl_of_the_dimension_that_carries_most(tmp_path):
    class HalfUsed(IdentityAE):
        """q(z|x) = N(mu, I) with mu = (3, 0, 0, …): dimension 0 carries 4.5 nats, the rest 0."""
        has_posterior = True

        def posterior(self, x):
            mu = torch.zeros(len(x), self.latent_dim)
            mu[:, 0] = 3.0
            return mu, torch.zeros_like(mu)

    out = TASKS["latent"].run(ctx_for(HalfUsed((1, 4, 4)), striped(150, shape=(1, 4, 4)), tmp_path))
    assert out["kl_nats_max_dim"] == pytest.approx(4.5) and out["kl_nats"] == pytest.approx(4.5)
    plain = TASKS["latent"].run(ctx_for(IdentityAE((1, 4, 4)), striped(150, shape=(1, 4, 4)), tmp_path))
    assert "kl_nats" not in plain  # no posterior, no KL


# ---- points ----

def test_point_tasks_on_identity(tmp_path):
    ctx = ctx_for(IdentityAE((2,)), moons(), tmp_path)
    rec = TASKS["points_reconstruct"].run(ctx)
    assert rec["test.mse_per_coord"] == pytest.approx(0, abs=1e-10)
    held = TASKS["points_heldout"].run(ctx)
    assert held["test_noise0.2.mse_per_coord"] == pytest.approx(0, abs=1e-10)
    gen = TASKS["points_generate"].run(ctx)
    # a GMM over the (identity) codes is a GMM over the points: far better than one Gaussian blob
    assert gen["sampler"] == "gmm" and gen["mmd2"] < 0.05 and gen["chamfer"] < 0.2
    assert TASKS["points_heldout"].applies(IdentityAE((2,)), moons())[0]


def test_mse_per_sample_mask_averages_inside_the_mask():
    a, b = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)
    b[:, :, 0, 0] = 3.0
    mask = torch.zeros(2, 1, 2, 2)
    mask[:, :, 0, 0] = 1
    assert torch.equal(mse_per_sample(b, a, mask), torch.tensor([9.0, 9.0]))
    assert torch.equal(mse_per_sample(b, a), torch.tensor([3.0, 3.0]))


# ---- params ----

@pytest.mark.parametrize("field, value, key, words", [
    ("noise_sigmas", [0.1, -0.2], "evaluate.noise_sigmas[1]", "> 0"),
    ("hole_fractions", [1.5], "evaluate.hole_fractions[0]", "(0, 1)"),
    ("max_test", -1, "evaluate.max_test", ">= 0"),
    ("n_sample", 3, "evaluate.n_sample", "did you mean 'n_samples'"),
])
def test_evaluate_params_name_the_bad_key(field, value, key, words):
    from aelab.core.config import parse

    with pytest.raises(ConfigError) as err:
        parse(EvaluateParams, {field: value}, "evaluate")
    assert err.value.key == key and words in str(err.value)


@pytest.mark.parametrize("ood, key, words", [
    ({"mnist": "imagenet"}, "ood.mnist", "unknown dataset"),
    ({"imagenet": "mnist"}, "ood", "unknown dataset"),
    ({"mnist": "mnist"}, "ood.mnist", "differ"),
])
def test_a_bad_ood_entry_names_its_key(tmp_path, ood, key, words):
    from aelab.core.params import complete, load_params

    raw = complete({"datasets": ["mnist"], "ood": ood})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_params(tmp_path / "params.yaml")
    assert err.value.key == key and words in str(err.value)


def test_ood_choice_reasons():
    from types import SimpleNamespace

    from aelab.tasks.config import DEFAULT_OOD

    p = SimpleNamespace(ood=DEFAULT_OOD, datasets=("mnist", "fashion_mnist", "emoji"))
    assert ood_dataset_for(p, "mnist") == "fashion_mnist" and ood_dataset_for(p, "emoji") == "mnist"
    assert ood_dataset_for(p, "moons") is None
    p2 = SimpleNamespace(ood=DEFAULT_OOD, datasets=("digits",))
    name, why = ood_choice(p2, "digits")
    assert name is None and "'fashion_mnist'" in why and "not enabled" in why


# ---- end to end ----

def write_project(root: Path, datasets: dict[str, Processed], variant: dict, evaluate: dict,
                  ood: dict | None = None) -> None:
    for name, data in datasets.items():
        save_processed(root / "data/processed" / f"{name}.npz", data)
    from aelab.core.params import complete

    params = {"seed": 0, "runtime": {"threads": 1}, "datasets": list(datasets),
              "variants": {"v": variant}, "evaluate": evaluate, **({"ood": ood} if ood else {})}
    (root / "params.yaml").write_text(yaml.safe_dump(complete(params)))  # code defaults written out
    from aelab.core.params import load_params
    from aelab.stage_fns import ood

    assert Path.cwd() == root  # stages write relative paths
    for name in datasets:  # ood@<dataset>: what evaluate@ reads for the anomaly task
        ood(load_params("params.yaml"), name)


def test_ood_stage_writes_the_ood_test_split_or_why_there_is_none(tmp_path, monkeypatch):
    from aelab.data.contract import load_ood_set

    monkeypatch.chdir(tmp_path)
    digits, other = striped(20), striped(30, shape=(1, 12, 12), axis="cols")
    write_project(tmp_path, {"digits": digits, "mnist": other},
                  {"dataset": "digits", "model": "mlp_ae"}, {}, ood={"digits": "mnist"})
    ood, name, reason = load_ood_set("data/ood/digits.npz")
    assert name == "mnist" and reason == "" and len(ood.x_train) == 0
    assert np.array_equal(ood.x_test, other.x_test) and np.array_equal(ood.y_test, other.y_test)
    assert ood.sample_shape == other.sample_shape
    none, name, reason = load_ood_set("data/ood/mnist.npz")  # `ood` names none for mnist
    assert none is None and name is None and "names no OOD dataset for 'mnist'" in reason


def save_model(root: Path, name: str, args: dict, shape, dataset: str) -> None:
    from aelab.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(name, args, shape)
    save_checkpoint(root / "models/v.pt", model, model_name=name, variant="v", dataset=dataset)


def check_metrics_file(path: Path) -> dict:
    m = json.loads(path.read_text())
    for k, v in m.items():
        if k == "skipped":
            assert isinstance(v, dict) and all(isinstance(r, str) and r for r in v.values())
            continue
        if k == "health":  # {ok, warnings: {check: {numbers, why}}}
            assert set(v) == {"ok", "warnings"} and v["ok"] == (not v["warnings"])
            assert all(w["why"] for w in v["warnings"].values())
            continue
        assert isinstance(v, (int, float, str, bool)), f"{k} is not flat: {v!r}"
        if isinstance(v, float):
            assert math.isfinite(v), k
    return m


SMALL_YAML = {k: list(v) if isinstance(v, tuple) else v for k, v in SMALL.__dict__.items()}


def test_evaluate_variant_moons_end_to_end(tmp_path, monkeypatch):
    from aelab.core.params import load_params
    from aelab.tasks.runner import evaluate_variant

    monkeypatch.chdir(tmp_path)
    write_project(tmp_path, {"moons": moons()},
                  {"dataset": "moons", "model": "mlp_ae", "latent_dim": 1, "hidden_size": 8},
                  SMALL_YAML)
    save_model(tmp_path, "mlp_ae", {"latent_dim": 1, "hidden_size": 8}, (2,), "moons")
    evaluate_variant(load_params("params.yaml"), "v")
    m = check_metrics_file(tmp_path / "metrics/eval/v.json")
    assert set(m["skipped"]) == {"reconstruct", "denoise", "inpaint", "anomaly", "generate", "interpolate"}
    assert "points" in m["skipped"]["reconstruct"]
    for key in ("points_reconstruct.test.mse_per_coord", "points_heldout.test_noise0.2.mse_per_coord",
                "points_generate.mmd2", "latent.knn_accuracy", "consistency.coord_standardized_std_mean"):
        assert key in m
    assert m["points_generate.sampler"] == "gmm" and m["consistency.coord_standardized_std_mean"] == 0
    pngs = {p.name for p in (tmp_path / "plots/eval/v").glob("*.png")}
    assert {"points_reconstruct.png", "points_generate.png", "points_heldout.png", "latent.png"} <= pngs


def test_evaluate_variant_image_vae_with_ood_end_to_end(tmp_path, monkeypatch):
    from aelab.core.params import load_params
    from aelab.tasks.runner import evaluate_variant

    monkeypatch.chdir(tmp_path)
    digits, ood = striped(100), striped(60, shape=(1, 12, 12), axis="cols")
    ood.meta["name"] = "mnist"
    args = {"latent_dim": 2, "hidden_size": 16, "layers": 1}
    write_project(tmp_path, {"digits": digits, "mnist": ood},
                  {"dataset": "digits", "model": "mlp_vae", **args},
                  SMALL_YAML, ood={"digits": "mnist"})
    save_model(tmp_path, "mlp_vae", args, (1, 8, 8), "digits")
    evaluate_variant(load_params("params.yaml"), "v")
    m = check_metrics_file(tmp_path / "metrics/eval/v.json")
    assert set(m["skipped"]) == {"points_reconstruct", "points_generate", "points_heldout"}
    assert m["anomaly.ood_dataset"] == "mnist" and 0 <= m["anomaly.auroc"] <= 1
    assert m["anomaly.auroc_lo"] <= m["anomaly.auroc"] <= m["anomaly.auroc_hi"]
    assert m["anomaly.auroc_n"] == m["anomaly.n_in"] + m["anomaly.n_ood"]
    assert m["latent.knn_accuracy_lo"] <= m["latent.knn_accuracy"] <= m["latent.knn_accuracy_hi"]
    # 100 test images < min_n 200: the small-sample check must name the rates it saw
    assert "anomaly.auroc" in m["health"]["warnings"]["small_n"]["rates"]
    assert m["generate.sampler"] == "prior" and m["consistency.pixel_std_mean"] > 0
    for key in ("reconstruct.test.mse_per_pixel", "reconstruct.train.bce_nats_per_image",
                "reconstruct.gap.mse_per_pixel", "denoise.gauss_0.3.mse_recon", "inpaint.square_0.4.mse_hole_recon",
                "interpolate.mean_step_mse_per_pixel", "latent.silhouette"):
        assert key in m, key
    assert len(list((tmp_path / "plots/eval/v").glob("*.png"))) >= 10


# ---- every registered model through every task (contract) ----

CONTRACT = EvaluateParams(**{**SMALL.__dict__, "max_test": 24, "max_train": 32, "max_optimized": 8,
                             "noise_sigmas": (0.3,), "salt_pepper_rates": (0.1,), "hole_fractions": (0.4,),
                             "inpaint_passes": 2, "consistency_repeats": 2, "n_samples": 4})
# small widths and few Gibbs/optimisation steps: the contract is that every task runs, not quality
CHEAP_ARGS = {"gan": {"encode_steps": 3}, "deep_cae": {"filters": 16, "latent_dim": 16},
              "deep_vae": {"filters": 16, "latent_dim": 16},
              "dbm": {"latent_dim": 64, "top_dim": 32, "mf_steps": 3, "sample_steps": 20}}


def contract_models() -> list:
    """(model, the smallest image shape it takes, render) for every registry entry: the fast
    tier builds every figure but does not render it (rendering is half of the test's time);
    the slow tier renders and writes every PNG."""
    from aelab.models import MODELS, supports

    out = []
    for name in MODELS:
        shape = next((s for s in [(1, 8, 8), (3, 32, 32)] if supports(name, s, CHEAP_ARGS.get(name))), None)
        out.append(pytest.param(name, shape, False, id=name))
        out.append(pytest.param(name, shape, True, id=f"{name}-rendered", marks=pytest.mark.slow))
    return out


def _close_unrendered(fig, path, dpi=None):
    """save_figure for the fast contract: the figure was built (imshow/plot validated their
    data); check it has content, close it, write no file."""
    import matplotlib.pyplot as plt

    assert fig.axes and any(ax.has_data() or ax.images for ax in fig.axes), f"{path}: empty figure"
    plt.close(fig)


@pytest.mark.parametrize("name, shape, render", contract_models())
def test_every_model_runs_every_applicable_task(name, shape, render, tmp_path, monkeypatch):
    from aelab.tasks.runner import run_tasks, tidy

    # every registered model must take one fixture shape: add a shape to contract_models
    # rather than let a model drop out of the contract silently
    assert shape is not None, f"{name} takes neither 1×8×8 nor 3×32×32 images: add a shape it takes"
    if not render:
        monkeypatch.setattr("aelab.core.io.save_figure", _close_unrendered)
    torch.manual_seed(0)
    model = build_model(name, CHEAP_ARGS.get(name, {}), shape)
    data, ood = striped(40, shape=shape), striped(30, axis="cols")
    ctx = ctx_for(model, data, tmp_path, CONTRACT, ood=ood, ood_name="cols")
    metrics, skipped, seconds = run_tasks(ctx, name)
    tidy(metrics, name)  # raises on NaN/inf
    ran = {k.split(".")[0] for k in metrics}
    assert set(seconds) == ran and not any(k.startswith("seconds") for k in metrics)  # timings apart
    assert ran | {k for k in skipped if "." not in k} == set(TASKS), (ran, skipped)
    assert {"reconstruct", "generate"} <= ran
    assert bool(list(tmp_path.rglob("*.png"))) == render
