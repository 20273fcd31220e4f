"""Settings of the task suite (`evaluate:` in params.yaml). No torch import here."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import spec

# `ood` in params.yaml (top level: ood@<dataset> reads it, evaluate@ reads ood@'s file, so
# evaluate@ declares the whole `evaluate` section): which processed dataset serves as
# out-of-distribution data for the anomaly task of each dataset. A dataset without an
# entry, or whose OOD dataset is not in `datasets`, skips the task. The OOD images are
# converted to the source's shape (resize, gray↔RGB, evaluate.ood_tint) before scoring.
DEFAULT_OOD = {
    "mnist": "fashion_mnist",
    "fashion_mnist": "mnist",
    "digits": "fashion_mnist",  # MNIST digits would be nearly in-distribution for 8×8 digits
    "emoji": "mnist",  # resized to 32×32 and tinted with ood_tint
    "cifar10": "emoji",
    "cats": "cifar10",
    "pistachios": "cats",
}


@dataclass(frozen=True)
class EvaluateParams:
    """Every setting of the evaluate@<variant> tasks (defaults in brackets).

    General
      seed [0]: seed of all task randomness (noise, holes, subsets, samplers); each task
        derives its own stream from it, so tasks do not depend on which others ran.
      max_test [500]: test samples used per task (a fixed random subset; 0 = all).
      max_train [2000]: training samples used for the train error, the GMM sampler and
        the kNN probe (0 = all).
      max_optimized [100]: for a model whose encode() optimises z per image (a GAN's
        latent recovery costs encode_steps generator passes per image), the test images of
        the corruption tasks (denoise, inpaint: many latent searches each, errors not
        rates); its rate tasks (anomaly, latent) use max_test, its train subset at most
        as many.
      batch_size [500]: samples per forward pass (evaluation runs under inference_mode).
      n_show [10]: images per row in the reconstruction/denoising/inpainting panels.
      train_side [true]: denoise, inpaint and anomaly also score a training subset as
        large as their test subset (a seeded random subset of the whole training set, not
        capped by max_train; for a model whose encode() optimises z, the corruption tasks'
        first max_optimized of it) and write, next to each test number, its train value and
        the gap test − train (`<level>.train.<m>`, `<level>.gap.<m>`; anomaly: `train.*`,
        `gap.*`, the same OOD images). The corruptions repeat the test side's draws (same
        noise, same holes where the sizes match), so a gap measures the images, not the
        draw. false: test only, as before (each of those tasks then costs about half).
    denoise
      noise_sigmas [0.1, 0.3, 0.5]: std of additive Gaussian noise, in [0, 1] pixel units
        (the noisy image is clipped to [0, 1]).
      salt_pepper_rates [0.05, 0.1, 0.2]: fraction of pixels set to 0 or 1 (half each).
    inpaint
      hole_fractions [0.25, 0.4, 0.55]: side of the removed square as a fraction of the
        image side (rounded to pixels), placed at a random position per image.
      top_rows_fraction [0.4]: fraction of rows removed from the top (a second mask type).
      inpaint_passes [5]: passes of the iterative variant that re-imposes the known pixels
        between passes (0 = only the single-pass reconstruction).
    anomaly (its OOD images: the top-level `ood` mapping, ood@<dataset>)
      ood_tint [1.0, 0.85, 0.3]: RGB multipliers applied when gray OOD images become RGB.
    generate / interpolate
      n_samples [20]: images generated per grid.
      gmm_components [1, 2, 3, 4, 6, 8, 10]: mixture sizes tried when fitting the code
        GMM of a model without a prior; the lowest BIC wins (sklearn, full covariance).
      latent_grid_side [15]: tiles per side of the decoded 2-D latent grid.
      interpolate_pairs [4]: pairs of endpoints; interpolate_steps [10]: images per line
        (endpoints included).
    latent
      knn_k [5]: neighbours of the kNN probe on codes (fit on train codes, scored on test).
      silhouette_max [1000]: codes subsampled for the silhouette score.
      active_variance [0.01]: a latent dimension is active when its code (the posterior
        mean for a VAE) varies across test images with at least this variance (the
        activity statistic of Burda et al. 2016); the posterior-collapse check uses it.
    consistency
      consistency_repeats [8]: K, encode/decode passes with sampling per image;
      consistency_inputs [250]: inputs whose spread is measured (the first of the max_test
        subset, itself random); consistency_images [6]: images shown.
    points (moons)
      n_generate_points [1000]: points sampled through the decoder.
      mmd_bandwidths [0.1, 0.2, 0.5, 1.0, 2.0]: RBF bandwidths of the MMD² (standardized units).
    """

    seed: int = spec(0, ge=0)
    max_test: int = spec(500, ge=0)
    max_train: int = spec(2000, ge=0)
    max_optimized: int = spec(100, ge=1)
    batch_size: int = spec(500, ge=1)
    n_show: int = spec(10, ge=1, le=64)
    train_side: bool = spec(True)
    noise_sigmas: tuple[float, ...] = spec((0.1, 0.3, 0.5))
    salt_pepper_rates: tuple[float, ...] = spec((0.05, 0.1, 0.2))
    hole_fractions: tuple[float, ...] = spec((0.25, 0.4, 0.55))
    top_rows_fraction: float = spec(0.4, gt=0, lt=1)
    inpaint_passes: int = spec(5, ge=0, le=100)
    ood_tint: tuple[float, ...] = spec((1.0, 0.85, 0.3))
    n_samples: int = spec(20, ge=1, le=400)
    gmm_components: tuple[int, ...] = spec((1, 2, 3, 4, 6, 8, 10))
    latent_grid_side: int = spec(15, ge=2, le=40)
    interpolate_pairs: int = spec(4, ge=1, le=20)
    interpolate_steps: int = spec(10, ge=2, le=40)
    knn_k: int = spec(5, ge=1)
    silhouette_max: int = spec(1000, ge=10)
    active_variance: float = spec(0.01, ge=0)
    consistency_repeats: int = spec(8, ge=2, le=64)
    consistency_inputs: int = spec(250, ge=1)
    consistency_images: int = spec(6, ge=1, le=32)
    n_generate_points: int = spec(1000, ge=10)
    mmd_bandwidths: tuple[float, ...] = spec((0.1, 0.2, 0.5, 1.0, 2.0))

    def validate(self, key: str) -> None:
        from ..core.errors import ConfigError

        def each(name, values, ok, what):
            if not values:
                raise ConfigError(f"{key}.{name}", "must list at least one value")
            for i, v in enumerate(values):
                if not ok(v):
                    raise ConfigError(f"{key}.{name}[{i}]", f"must be {what}, got {v!r}")

        each("noise_sigmas", self.noise_sigmas, lambda v: v > 0, "> 0")
        each("salt_pepper_rates", self.salt_pepper_rates, lambda v: 0 < v <= 1, "in (0, 1]")
        each("hole_fractions", self.hole_fractions, lambda v: 0 < v < 1, "in (0, 1)")
        each("gmm_components", self.gmm_components, lambda v: v >= 1, ">= 1")
        each("mmd_bandwidths", self.mmd_bandwidths, lambda v: v > 0, "> 0")
        if len(self.ood_tint) != 3 or any(not 0 <= t <= 1 for t in self.ood_tint):
            raise ConfigError(f"{key}.ood_tint", f"must be 3 values in [0, 1], got {list(self.ood_tint)}")


def validate_ood(ood: dict[str, str], key: str) -> None:
    """Both sides of every `ood` entry are registered datasets, and differ."""
    from ..core.errors import ConfigError
    from ..data.registry import get_dataset

    for src, dst in ood.items():
        for name, where in ((src, key), (dst, f"{key}.{src}")):
            get_dataset(name, where)
        if src == dst:
            raise ConfigError(f"{key}.{src}", "the OOD dataset must differ from the source")
