"""Settings of the cross-run studies (`studies:` in params.yaml). No torch import here.

One frozen dataclass per study entry; StudiesParams (the `studies:` section) is built from
the study registry (registry.py), one field per registered study. Studies keyed by a
mapping are `foreach` stages over it; an empty mapping `{}` generates no stage (DVC accepts
an empty foreach), which is how the tiny test run (tests/tiny_overrides.yaml) turns off
those that need a dataset or model it does not have (Fashion-MNIST, the MMD autoencoder).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Literal

from ..core.config import check_range, coerce, spec
from ..core.errors import ConfigError
from ..models.configs import check_bandwidths

Schedule = Literal["constant", "cosine", "step"]


def _each(key: str, values, ok, what: str, allow_empty: bool = False) -> None:
    if not values and not allow_empty:
        raise ConfigError(key, "must list at least one value")
    for i, v in enumerate(values):
        if not ok(v):
            raise ConfigError(f"{key}[{i}]", f"must be {what}, got {v!r}")


@dataclass(frozen=True)
class MoonsSetting:
    """One two-moons training run of the MLP autoencoder (sweep base, best setting).

    Data (sklearn make_moons, as data.moons: train seed data_seed, test seed data_seed+1):
      n_train [1000], n_test [1000] points; noise [0.1] Gaussian std (data units).
    Model (mlp_ae, bottleneck 1, linear output, MSE per coordinate on standardized points):
      hidden_size [64] units per hidden layer; layers [3] hidden layers.
    Training (aelab.train.fit, Adam): epochs [200]; batch_size [64]; lr [0.001];
      lr_schedule ['constant' | 'cosine' | 'step'].
    """

    n_train: int = spec(1000, ge=10)
    n_test: int = spec(1000, ge=10)
    noise: float = spec(0.1, ge=0)
    data_seed: int = spec(0, ge=0)
    hidden_size: int = spec(64, ge=1)
    layers: int = spec(3, ge=1)
    epochs: int = spec(200, ge=1)
    batch_size: int = spec(64, ge=1)
    lr: float = spec(1e-3, gt=0, le=10)
    lr_schedule: Schedule = "constant"


SWEEPABLE = tuple(f.name for f in dataclasses.fields(MoonsSetting) if f.name != "data_seed")


DEFAULT_AXES = {
    "n_train": (100, 300, 1000, 3000),
    "epochs": (25, 50, 100, 200, 400),
    "lr": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
    "lr_schedule": ("constant", "cosine", "step"),
    "hidden_size": (8, 16, 32, 64, 128),
    "layers": (1, 2, 3, 4),
}


@dataclass(frozen=True)
class MoonsSweepParams:
    """moons_sweep@<axis>: vary ONE field of `base` over axes[<axis>], train each point
    `repeats` times (model seeds seed … seed+repeats−1, same data), plot test error ± std.

    axes: axis name (a MoonsSetting field) → values (each checked as that field);
    show [3]: settings whose reconstructions are drawn (first, middle, last value)."""

    base: MoonsSetting = spec(MoonsSetting())
    axes: dict[str, tuple[Any, ...]] = spec(DEFAULT_AXES)
    repeats: int = spec(3, ge=1, le=50)
    show: int = spec(3, ge=1, le=8)

    def validate(self, key: str) -> None:
        for axis, values in self.axes.items():
            k = f"{key}.axes.{axis}"
            if axis not in SWEEPABLE:
                raise ConfigError(k, f"unknown axis; choose from {', '.join(SWEEPABLE)}")
            if not values:
                raise ConfigError(k, "must list at least one value")
            for i, v in enumerate(values):
                self.setting(axis, v, f"{k}[{i}]")
            if len(set(values)) != len(values):
                raise ConfigError(k, f"lists a value twice: {list(values)}")

    def setting(self, axis: str, value, key: str = "", on: MoonsSetting | None = None) -> MoonsSetting:
        """`on` (default: base) with <axis> = value, validated (ConfigError names `key`)."""
        f = {f.name: f for f in dataclasses.fields(MoonsSetting)}[axis]
        v = coerce(typing.get_type_hints(MoonsSetting)[axis], value, key)
        check_range(f.metadata, v, key)
        return dataclasses.replace(on or self.base, **{axis: v})


@dataclass(frozen=True)
class MoonsStudyParams:
    """study_moons: the best sweep setting under repeats, a GMM on its codes, other noise.

    adopt [lr, lr_schedule, hidden_size, layers]: sweep axes whose best value (lowest mean
      test error) replaces the base value; the others (data size, epochs: budgets, not
      choices) stay at base. Each must be a key of moons_sweep.axes (dvc.yaml lists their
      metrics files as deps).
    seeds [5]: model seeds on the same data; data_seeds [5]: datasets (data seeds
      data_seed+1 … , model seed fixed) — spread of the test error over both.
    gmm_components [1, 2, 3, 4, 6, 8, 10]: mixture sizes for the code GMM (lowest BIC wins).
    n_generate [1000]: synthetic points decoded from GMM codes.
    test_noise [0.2]: held-out test set at this noise, scored without retraining.
    train_noise [0.2]: a second model trained at this noise; its decoded curve is compared
      with the base model's (Chamfer distance) and with the noiseless moons.
    curve_points [2000]: points on the decoded curves and on the noiseless moons.
    mmd_bandwidths [0.1, 0.2, 0.5, 1, 2]: RBF bandwidths of the sample-quality MMD²."""

    adopt: tuple[str, ...] = spec(("lr", "lr_schedule", "hidden_size", "layers"))
    seeds: int = spec(5, ge=2, le=50)
    data_seeds: int = spec(5, ge=2, le=50)
    gmm_components: tuple[int, ...] = spec((1, 2, 3, 4, 6, 8, 10))
    n_generate: int = spec(1000, ge=10)
    test_noise: float = spec(0.2, ge=0)
    train_noise: float = spec(0.2, ge=0)
    curve_points: int = spec(2000, ge=50)
    mmd_bandwidths: tuple[float, ...] = spec((0.1, 0.2, 0.5, 1.0, 2.0))

    def validate(self, key: str) -> None:
        _each(f"{key}.adopt", self.adopt, lambda a: a in SWEEPABLE, f"one of {SWEEPABLE}",
              allow_empty=True)
        _each(f"{key}.gmm_components", self.gmm_components, lambda k: k >= 1, ">= 1")
        _each(f"{key}.mmd_bandwidths", self.mmd_bandwidths, lambda b: b > 0, "> 0")


@dataclass(frozen=True)
class DigitsStudyParams:
    """study_digits: variants [digits_ae_z2, digits_ae_z4, digits_ae_z8] (same model up to
    the bottleneck; dvc.yaml lists their files as deps); n_show [10] images per row."""

    variants: tuple[str, ...] = spec(("digits_ae_z2", "digits_ae_z4", "digits_ae_z8"))
    n_show: int = spec(10, ge=1, le=32)

    def validate(self, key: str) -> None:
        _each(f"{key}.variants", self.variants, lambda v: isinstance(v, str) and v, "a variant name")


@dataclass(frozen=True)
class MoonsMMDParams:
    """study_moons_mmd@<name>: the MMD autoencoder `variant` (latent 2, no bottleneck) vs
    the bottleneck-1 `reference` on the moons test set, plus a small grid trained here.

    variant [moons_mmd_z2], reference [moons_ae_z1]: trained variants (their models are deps).
    Grid (each point trained from the variant's model settings with these replaced):
      kernels [rbf, imq]; bandwidth_sets: lists of 3–7 bandwidths, each twice the previous
      (the 'number of bandwidths' axis); lams [1, 10, 100]: λ of the MMD² term.
      grid_n_train [500] points (noise of data.moons), grid_epochs [60], grid_batch_size [64],
      grid_lr [0.001].
    metric_bandwidths [0.25 … 4]: RBF bandwidths of every reported MMD² (a fixed yardstick,
      independent of the kernel a model was trained with).
    n_generate [1000]: N(0, I) draws decoded for the synthetic-data quality."""

    variant: str = "moons_mmd_z2"
    reference: str = "moons_ae_z1"
    kernels: tuple[Literal["rbf", "imq"], ...] = spec(("rbf", "imq"))
    bandwidth_sets: tuple[tuple[float, ...], ...] = spec(
        ((0.5, 1.0, 2.0), (0.25, 0.5, 1.0, 2.0, 4.0), (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)))
    lams: tuple[float, ...] = spec((1.0, 10.0, 100.0))
    grid_n_train: int = spec(500, ge=10)
    grid_epochs: int = spec(60, ge=1)
    grid_batch_size: int = spec(64, ge=2)
    grid_lr: float = spec(1e-3, gt=0, le=10)
    metric_bandwidths: tuple[float, ...] = spec((0.25, 0.5, 1.0, 2.0, 4.0))
    n_generate: int = spec(1000, ge=10)

    def validate(self, key: str) -> None:
        _each(f"{key}.kernels", self.kernels, lambda k: True, "rbf or imq")
        if not self.bandwidth_sets:
            raise ConfigError(f"{key}.bandwidth_sets", "must list at least one set")
        for i, bws in enumerate(self.bandwidth_sets):
            check_bandwidths(bws, f"{key}.bandwidth_sets[{i}]")
        _each(f"{key}.lams", self.lams, lambda v: v >= 0, ">= 0")
        _each(f"{key}.metric_bandwidths", self.metric_bandwidths, lambda b: b > 0, "> 0")


@dataclass(frozen=True)
class AEvsVAEParams:
    """study_fmnist_ae_vs_vae@<name>: trained variants `ae` [fmnist_mlp_ae_z2] and `vae`
    [fmnist_mlp_vae_z2] side by side, both trained on `dataset` [fashion_mnist] (named here
    so dvc.yaml can depend on its file). max_test [2000] test images scored (fixed subset);
    n_show [10] images per row; passes [10] repeated encode→decode passes for the
    consistency numbers; n_samples [20] VAE prior samples; seed [0]."""

    ae: str = "fmnist_mlp_ae_z2"
    vae: str = "fmnist_mlp_vae_z2"
    dataset: str = "fashion_mnist"
    max_test: int = spec(2000, ge=10)
    n_show: int = spec(10, ge=1, le=20)
    passes: int = spec(10, ge=2, le=100)
    n_samples: int = spec(20, ge=1, le=100)
    seed: int = spec(0, ge=0)


@dataclass(frozen=True)
class TuneParams:
    """tune@<name>: Optuna over epochs × batch size × learning rate of `variant`'s model,
    objective = mean validation loss of a k-fold CV (the VAE's loss: −ELBO, nats/image).

    variant [fmnist_mlp_vae_z2]: model and its settings come from this variant; dataset
      [fashion_mnist] must be the variant's (named here so dvc.yaml can depend on its file).
    n_trials [5] per sampler; samplers [tpe, random, grid]: the same budget each, reported
      side by side (TPE seeded, tpe_startup_trials [2] random trials before TPE models;
      the grid uses grid_lrs for the continuous lr).
    epochs [10, 20, 30], batch_sizes [64, 128, 256]: categorical choices;
      lr_min [0.01], lr_max [0.1]: log-uniform range; grid_lrs [0.01, 0.0316, 0.1].
    epochs_scale [1.0]: multiplies every epochs choice (rounded, ≥ 1) to bound the time;
      the metrics record the epochs actually trained.
    subset [6000]: training images used (a seeded random subset; the stage then takes
      ~3.5 min on a 2-core CPU with 1 thread; 0 = all 60 000, ~40 min); folds [3]: sklearn
      KFold (shuffled, seeded); seed [0].
    storage ['']: '' = a local SQLite file in the stage's out dir optuna/<name>/ (fresh
      each run); otherwise an Optuna database URL shared among machines (the study is
      loaded if it exists, so workers add trials to one study).
    study_name ['']: '' = tune-<name>; each sampler uses '<study_name>-<sampler>'."""

    variant: str = "fmnist_mlp_vae_z2"
    dataset: str = "fashion_mnist"
    n_trials: int = spec(5, ge=1, le=1000)
    samplers: tuple[Literal["tpe", "random", "grid"], ...] = spec(("tpe", "random", "grid"))
    tpe_startup_trials: int = spec(2, ge=1)
    epochs: tuple[int, ...] = spec((10, 20, 30))
    batch_sizes: tuple[int, ...] = spec((64, 128, 256))
    lr_min: float = spec(0.01, gt=0)
    lr_max: float = spec(0.1, gt=0)
    grid_lrs: tuple[float, ...] = spec((0.01, 0.0316, 0.1))
    epochs_scale: float = spec(1.0, gt=0, le=1)
    subset: int = spec(6000, ge=0)
    folds: int = spec(3, ge=2, le=10)
    seed: int = spec(0, ge=0)
    storage: str = ""
    study_name: str = ""

    def validate(self, key: str) -> None:
        _each(f"{key}.samplers", self.samplers, lambda s: True, "a sampler")
        _each(f"{key}.epochs", self.epochs, lambda e: e >= 1, ">= 1")
        _each(f"{key}.batch_sizes", self.batch_sizes, lambda b: b >= 1, ">= 1")
        if self.lr_max < self.lr_min:
            raise ConfigError(f"{key}.lr_max", f"must be >= lr_min ({self.lr_min}), got {self.lr_max}")
        _each(f"{key}.grid_lrs", self.grid_lrs, lambda v: self.lr_min <= v <= self.lr_max,
              f"in [lr_min, lr_max] = [{self.lr_min}, {self.lr_max}]")
        if 0 < self.subset < 2 * self.folds:
            raise ConfigError(f"{key}.subset", f"needs at least 2 images per fold ({2 * self.folds}), got {self.subset}")


@dataclass(frozen=True)
class RBMGridParams:
    """The RBM grid of study_rbm: one RBM per (lr, hidden) cell, trained by aelab.train.fit
    exactly as train@ trains the variant (its model and train settings) with these replaced.

    lr [0.01, 0.1]: SGD learning rates; hidden [64, 200]: hidden units; epochs [15]: passes
      (every pass is logged, so the curves show every pass count up to this);
    n_train [2000]: training digits (a seeded subset, to bound the time; 0 = all);
      n_test [500]: test digits scored after every pass (seeded subset; 0 = all);
    batch_size [10]; momentum [0.0] (plain SGD: lr 0.01–0.1 is scikit-learn's scale);
    lr_schedule ['constant']: constant keeps pass k of an N-pass curve equal to a k-pass run."""

    lr: tuple[float, ...] = spec((0.01, 0.1))
    hidden: tuple[int, ...] = spec((64, 200))
    epochs: int = spec(15, ge=1)
    n_train: int = spec(2000, ge=0)
    n_test: int = spec(500, ge=0)
    batch_size: int = spec(10, ge=1)
    momentum: float = spec(0.0, ge=0, lt=1)
    lr_schedule: Schedule = "constant"

    def validate(self, key: str) -> None:
        _each(f"{key}.lr", self.lr, lambda v: 0 < v <= 10, "in (0, 10]")
        _each(f"{key}.hidden", self.hidden, lambda h: isinstance(h, int) and h >= 1, "an integer >= 1")
        for name in ("lr", "hidden"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ConfigError(f"{key}.{name}", f"lists a value twice: {list(values)}")


RBM_REGIONS = ("top", "bottom", "left", "right", "middle")


@dataclass(frozen=True)
class RBMStudyParams:
    """study_rbm@<name>: the trained RBM `variant` [mnist_rbm] on `dataset` [mnist] (named
    here so dvc.yaml can depend on its file), plus a grid of small RBMs trained here.

    grid: see RBMGridParams.
    gibbs_steps [1, 2, 5, 10, 100, 1000]: Gibbs sweeps from a (binarized) test digit; each
      shows the sweep's mean-field p(v | h). n_show [4] digits drawn per figure;
      n_judge [200] test digits (seeded subset) scored: MSE per pixel to the original and
      the random forest's label (classify's forest, fitted as classify@ fits it).
    inpaint_regions [top, bottom, left, right, middle]: where the hole is (left/right:
      columns; middle: a horizontal band centred on the image); inpaint_rows [12, 16]:
      rows (columns) removed; inpaint_steps [300]: clamped Gibbs sweeps; n_inpaint [200]
      test digits scored per (region, rows); show_rows [12]: the rows setting drawn.
    dbm_variant [""]: a trained DBM (models/dbm.py) on the same dataset, measured next to
      the RBM (same Gibbs steps and inpainting, components of both layers, samples after one
      step and from noise); "" = none (unit tests only: dvc.yaml depends on its file).
    n_samples [500]: samples from noise per model (model.sample), judged by the forest's
      class histogram and the nearest training image (only with dbm_variant).
    seed [0]: the subsets and every Gibbs chain."""

    variant: str = "mnist_rbm"
    dataset: str = "mnist"
    grid: RBMGridParams = spec(RBMGridParams())
    gibbs_steps: tuple[int, ...] = spec((1, 2, 5, 10, 100, 1000))
    n_show: int = spec(4, ge=1, le=16)
    n_judge: int = spec(200, ge=1)
    inpaint_regions: tuple[Literal["top", "bottom", "left", "right", "middle"], ...] = spec(RBM_REGIONS)
    inpaint_rows: tuple[int, ...] = spec((12, 16))
    inpaint_steps: int = spec(300, ge=1)
    n_inpaint: int = spec(200, ge=1)
    show_rows: int = spec(12, ge=1)
    dbm_variant: str = ""
    n_samples: int = spec(500, ge=1)
    seed: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        if self.dbm_variant and self.dbm_variant == self.variant:
            raise ConfigError(f"{key}.dbm_variant", f"must name a DBM variant other than variant "
                              f"{self.variant!r}, got {self.dbm_variant!r}")
        _each(f"{key}.gibbs_steps", self.gibbs_steps, lambda k: isinstance(k, int) and k >= 1, "an integer >= 1")
        if list(self.gibbs_steps) != sorted(set(self.gibbs_steps)):
            raise ConfigError(f"{key}.gibbs_steps", f"must be strictly increasing, got {list(self.gibbs_steps)}")
        _each(f"{key}.inpaint_regions", self.inpaint_regions, lambda r: True, "a region")
        _each(f"{key}.inpaint_rows", self.inpaint_rows, lambda r: isinstance(r, int) and r >= 1, "an integer >= 1")
        if self.show_rows not in self.inpaint_rows:
            raise ConfigError(f"{key}.show_rows", f"must be one of inpaint_rows {list(self.inpaint_rows)}, "
                              f"got {self.show_rows}")


@dataclass(frozen=True)
class GANBackbonesParams:
    """study_gan_backbones@<name>: the GAN's two backbones side by side, from their
    checkpoints: trained variants `conv` [mnist_gan] and `mlp` [mnist_mlp_gan], both on
    `dataset` [mnist] (named here so dvc.yaml can depend on its file).

    n_samples [1000]: prior samples per backbone judged by classify's forest (fitted as
      classify@ fits it) and by the Fréchet distance; n_show [64] samples drawn each.
    Fréchet features: the hidden layer of a small sklearn MLPClassifier fitted on the
      training digits: fid_hidden [64] ReLU units, fid_max_train [4000] training digits
      (seeded subset; 0 = all), fid_max_iter [30] Adam epochs; fid_max_test [1000] test
      digits (seeded subset; 0 = all) are the real side.
    seed [0]: subsets, feature net and the samples' z."""

    conv: str = "mnist_gan"
    mlp: str = "mnist_mlp_gan"
    dataset: str = "mnist"
    n_samples: int = spec(1000, ge=10)
    n_show: int = spec(64, ge=1, le=256)
    fid_hidden: int = spec(64, ge=2)
    fid_max_train: int = spec(4000, ge=0)
    fid_max_iter: int = spec(30, ge=1)
    fid_max_test: int = spec(1000, ge=0)
    seed: int = spec(0, ge=0)


@dataclass(frozen=True)
class PhotoSamplesParams:
    """study_photo_samples@<name>: the photo study's three generators from their
    checkpoints: `cae` [emoji_deep_cae_z256] (sampled through a GMM on its codes, as
    classify@ samples it), `vae` [emoji_deep_vae_z32] and `gan` [emoji_deep_gan] (both
    from N(0, I)), all on `dataset` [emoji] (named here so dvc.yaml can depend on its file).

    n_samples [500]: samples per model, and real test images of the reference row; n_show
      [36] of each drawn. Fréchet features as study_gan_backbones: fid_hidden [64] ReLU
      units of an sklearn MLPClassifier fitted on fid_max_train [0 = all] training images
      for fid_max_iter [30] Adam epochs.
    seed [0]: subsets, feature net and samples."""

    cae: str = "emoji_deep_cae_z256"
    vae: str = "emoji_deep_vae_z32"
    gan: str = "emoji_deep_gan"
    dataset: str = "emoji"
    n_samples: int = spec(500, ge=10)
    n_show: int = spec(36, ge=1, le=256)
    fid_hidden: int = spec(64, ge=2)
    fid_max_train: int = spec(0, ge=0)
    fid_max_iter: int = spec(30, ge=1)
    seed: int = spec(0, ge=0)


def _check_adopt(self, key: str) -> None:
    moons, sweep = getattr(self, "moons", None), getattr(self, "moons_sweep", None)
    if moons is None or sweep is None:
        return
    for i, axis in enumerate(moons.adopt):
        if axis not in sweep.axes:
            raise ConfigError(f"{key}.moons.adopt[{i}]", f"{axis!r} is not a sweep axis; "
                              f"moons_sweep.axes has {sorted(sweep.axes)}")


def studies_dataclass() -> type:
    """The frozen dataclass of `studies:`, one field per registered study (registry.py):
    a mapping of named entries for keyed studies (`{}` = no stage), else one entry."""
    from .registry import STUDIES

    fields = [("threads", int, spec(1, ge=0))]
    for name, study in STUDIES.items():
        cfg = study.config_type()
        fields.append((name, dict[str, cfg], spec({})) if study.keyed else (name, cfg, spec(cfg())))
    cls = dataclasses.make_dataclass("StudiesParams", fields, frozen=True,
                                     namespace={"validate": _check_adopt, "__module__": __name__})
    cls.__doc__ = ("threads [1]: torch threads of the study stages (many small models: one thread "
                   "is fastest on a 2-core machine; AELAB_THREADS overrides). One field per "
                   "registered study (aelab.studies.registry), see each.")
    return cls


StudiesParams = studies_dataclass()
