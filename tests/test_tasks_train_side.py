"""The train side of denoise, inpaint and anomaly (evaluate.train_side): known answers on
fixture models.

With the same images on both sides an identity (or any deterministic) model gives equal
train and test numbers and gaps of 0 — the train side repeats the test side's noise
draws and holes. MemoriserAE stores the clean training images and returns the nearest
one: training inputs, even noisy or holed, come back clean, test inputs come back as some
other image, so every error is lower on the train side and the gaps are positive.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from aelab.data.contract import Processed
from aelab.core.errors import ConfigError
from aelab.tasks import TASKS
from aelab.tasks.common import train_and_gap, train_side_inputs
from aelab.tasks.config import EvaluateParams
from test_tasks import SMALL, IdentityAE, NoiseAE, RowMeanAE, _close_unrendered, ctx_for, gray, image_meta, striped

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _numbers_only(monkeypatch):
    """These tests read numbers: the tasks build their figures, unrendered (test_tasks.py
    renders them)."""
    monkeypatch.setattr("aelab.core.io.save_figure", _close_unrendered)

PARAMS = dataclasses.replace(SMALL, noise_sigmas=(0.1, 0.5), salt_pepper_rates=(0.2,),
                             hole_fractions=(0.25, 0.55), inpaint_passes=2)
DENOISE = ("gauss_0.1", "gauss_0.5", "sp_0.2")
INPAINT = ("square_0.25", "square_0.55", "top_rows_0.4")


class MemoriserAE(IdentityAE):
    """Returns the stored training image nearest to its input (squared distance)."""

    def __init__(self, input_shape, stored: torch.Tensor):
        super().__init__(input_shape)
        self.register_buffer("stored", stored.flatten(1).float())  # (M, prod(shape))

    def decode(self, z):
        nearest = torch.cdist(z.float(), self.stored).argmin(1)  # (B,)
        return self.stored[nearest].reshape(-1, *self.input_shape)


def same_images(data: Processed) -> Processed:
    """The test images as the training set too."""
    return Processed(data.x_test, data.y_test, data.x_test.copy(), data.y_test.copy(), data.meta)


def random_pixels(n: int, seed: int = 0, shape=(1, 8, 8)) -> Processed:
    """Binary images with independent pixels: train and test images share none."""
    x = (np.random.default_rng(seed).integers(0, 2, size=(2 * n, *shape)) * 255).astype(np.uint8)
    y = np.arange(2 * n, dtype=np.int64) % 2
    return Processed(x[:n], y[:n], x[n:], y[n:], image_meta("pixels", shape))


def run_three(model, data, tmp_path, params=PARAMS, ood=None) -> dict[str, dict]:
    ctx = ctx_for(model, data, tmp_path, params, ood=ood if ood is not None else striped(150, axis="cols", seed=1),
                  ood_name="ood")
    return {t: TASKS[t].run(ctx) for t in ("denoise", "inpaint", "anomaly")}


# ---- keys ----

def test_keys_sit_next_to_the_test_keys_with_their_n(tmp_path):
    out = run_three(RowMeanAE((1, 8, 8)), striped(150), tmp_path)
    dn, ip, an = out["denoise"], out["inpaint"], out["anomaly"]
    assert dn["n_test"] == dn["n_train"] == ip["n_test"] == ip["n_train"] == 120  # max_test
    for level in DENOISE:
        for m in ("mse_noisy", "mse_recon", "gain"):
            assert dn[f"{level}.gap.{m}"] == pytest.approx(dn[f"{level}.{m}"] - dn[f"{level}.train.{m}"])
    for mask in INPAINT:
        for m in ("mse_hole_recon", "mse_hole_meanfill", "mse_hole_iterative"):
            assert ip[f"{mask}.gap.{m}"] == pytest.approx(ip[f"{mask}.{m}"] - ip[f"{mask}.train.{m}"])
        assert f"{mask}.train.side_px" not in ip and f"{mask}.train.rows_px" not in ip  # sizes, not numbers
    assert an["train.n_in"] == an["n_in"] == 120
    for r in ("auroc", "fpr_at_95tpr"):
        assert an[f"train.{r}_lo"] <= an[f"train.{r}"] <= an[f"train.{r}_hi"]
        assert an[f"gap.{r}"] == pytest.approx(an[r] - an[f"train.{r}"])
        assert f"gap.{r}_n" not in an and f"gap.{r}_lo" not in an  # a gap has no size or interval
    assert an["train.auroc_n"] == an["train.n_in"] + an["n_ood"] and an["train.fpr_at_95tpr_n"] == 120
    assert an["gap.score_in_mean"] == pytest.approx(an["score_in_mean"] - an["train.score_in_mean"])
    assert not any(k.startswith("gap.score_ood") or k.startswith("train.score_ood") for k in an)  # same OOD set


def test_train_and_gap_names():
    got = train_and_gap({"gauss_0.3.mse_recon": 0.5, "auroc": 0.9}, {"gauss_0.3.mse_recon": 0.2, "auroc": 0.95})
    assert got == pytest.approx({"gauss_0.3.train.mse_recon": 0.2, "gauss_0.3.gap.mse_recon": 0.3,
                                 "train.auroc": 0.95, "gap.auroc": -0.05})
    assert train_and_gap({"auroc": 1.0}, {"auroc": 0.5, "auroc_n": 10}, gaps=("auroc",)) == \
        {"train.auroc": 0.5, "gap.auroc": 0.5, "train.auroc_n": 10}


# ---- known answers ----

@pytest.mark.parametrize("model", [IdentityAE, RowMeanAE], ids=["identity", "row_mean"])
def test_same_images_on_both_sides_give_equal_numbers_and_zero_gaps(model, tmp_path):
    # 100 images < max_test: both sides hold all of them in order, and get the same noise and holes
    out = run_three(model((1, 8, 8)), same_images(striped(100)), tmp_path)
    for task, result in out.items():
        gaps = {k: v for k, v in result.items() if ".gap." in k or k.startswith("gap.")}
        assert gaps and all(v == 0 for v in gaps.values()), (task, gaps)
        train_keys = [k for k in result if ".train." in k or k.startswith("train.")]
        assert train_keys, task
        for k in train_keys:
            assert result[k] == result[k.replace("train.", "")], (task, k)
    assert out["denoise"]["n_train"] == out["denoise"]["n_test"] == 100


def test_a_model_that_memorised_its_training_images_is_better_on_them(tmp_path):
    data = random_pixels(150)
    from aelab.data.contract import to_model_input

    model = MemoriserAE((1, 8, 8), to_model_input(data.x_train, data.meta))
    out = run_three(model, data, tmp_path, ood=gray(150))
    dn, ip, an = out["denoise"], out["inpaint"], out["anomaly"]
    for level in DENOISE:
        assert dn[f"{level}.train.mse_recon"] == pytest.approx(0, abs=1e-9)  # the clean original comes back
        assert dn[f"{level}.mse_recon"] > 0.2  # another random image: ~a third of the pixels differ
        assert dn[f"{level}.gap.mse_recon"] > 0.2
        assert dn[f"{level}.train.gain"] > dn[f"{level}.gain"]
        assert dn[f"{level}.gap.mse_noisy"] == pytest.approx(0, abs=0.03)  # same noise, similar images
    for mask in INPAINT:
        assert ip[f"{mask}.train.mse_hole_recon"] == pytest.approx(0, abs=1e-9)
        assert ip[f"{mask}.mse_hole_recon"] > 0.2 and ip[f"{mask}.gap.mse_hole_recon"] > 0.2
        assert ip[f"{mask}.gap.mse_hole_meanfill"] == pytest.approx(0, abs=0.1)  # the baseline knows no image
    # anomaly: training images score 0, the gray OOD images 0.25 (every pixel off by ½), test images ~0.3
    assert an["train.score_in_mean"] == pytest.approx(0, abs=1e-9) and an["score_in_mean"] > 0.25
    assert an["train.auroc"] == 1.0 and an["train.fpr_at_95tpr"] == 0.0
    assert an["auroc"] < 0.2 and an["gap.auroc"] < -0.8
    assert an["train.auroc_lo"] > an["auroc_hi"]  # the intervals are far apart
    assert an["gap.score_in_mean"] > 0.25


def test_the_train_subset_is_seeded_not_capped_by_max_train_and_capped_for_latent_search(tmp_path):
    data = striped(300)
    few_train = dataclasses.replace(PARAMS, max_train=20)
    a = ctx_for(IdentityAE((1, 8, 8)), data, tmp_path, few_train)
    b = ctx_for(IdentityAE((1, 8, 8)), data, tmp_path, few_train)
    assert len(a.x_train) == 20 and len(train_side_inputs(a)) == len(a.x_test) == 120
    assert torch.equal(train_side_inputs(a), train_side_inputs(b))
    c = ctx_for(IdentityAE((1, 8, 8)), data, tmp_path, dataclasses.replace(few_train, seed=1))
    assert not torch.equal(train_side_inputs(a), train_side_inputs(c))

    class Searching(IdentityAE):
        encode_by_optimization = True  # as a GAN: the corruption tasks take max_optimized images

    out = run_three(Searching((1, 8, 8)), data, tmp_path, dataclasses.replace(PARAMS, max_optimized=30))
    assert out["denoise"]["n_test"] == out["denoise"]["n_train"] == 30
    assert out["inpaint"]["n_test"] == out["inpaint"]["n_train"] == 30
    assert out["anomaly"]["n_in"] == out["anomaly"]["train.n_in"] == 120


def test_train_side_off_leaves_every_other_number_as_it_was(tmp_path):
    """NoiseAE draws its outputs from the global torch stream, which later tasks (here
    consistency; generate on a GPU) sample from too: the train side must not move it, so switching it off
    changes nothing but its own keys."""
    data, ood = striped(150), striped(150, axis="cols", seed=1)
    runs = {}
    for side in (True, False):
        ctx = ctx_for(NoiseAE((1, 8, 8)), data, tmp_path / str(side), dataclasses.replace(PARAMS, train_side=side),
                      ood=ood, ood_name="ood")
        torch.manual_seed(0)
        runs[side] = {f"{t}.{k}": v for t in ("denoise", "inpaint", "anomaly", "consistency")
                      for k, v in TASKS[t].run(ctx).items()}
    on, off = runs[True], runs[False]
    added = {k for k in on if k not in off}
    assert added and all(".train." in k or ".gap." in k or k.split(".")[1] in ("train", "gap", "n_train")
                         for k in added), added
    assert {k: on[k] for k in off} == off
    assert on["consistency.pixel_std_mean"] > 0  # the global stream was in use after the train side


def test_train_side_must_be_true_or_false():
    from aelab.core.config import parse

    with pytest.raises(ConfigError) as err:
        parse(EvaluateParams, {"train_side": "yes"}, "evaluate")
    assert err.value.key == "evaluate.train_side" and "true or false" in str(err.value)
    assert parse(EvaluateParams, {"train_side": False}, "evaluate").train_side is False
