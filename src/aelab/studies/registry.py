"""The study registry: one `Study` line per study, and everything else follows from it.

A study is a function `run(params, target)` (or `run(params)` for a single-stage study)
in some module, a frozen params dataclass for its entry, and this line. From the registry:
- `studies:` in params.yaml is parsed (studies.config.StudiesParams: one field per study,
  a mapping of named entries for keyed studies);
- one generic stage script runs any of them: `python stages/study.py <study> [<entry>]`;
- `python -m aelab.dvcstages --write` writes their `dvc.yaml` stages (deps from the import
  graph of `run`, the templated data/model deps below, params, outs), and
  tests/test_dvc_yaml.py fails when dvc.yaml differs from what it prints.

Strings name the functions and classes ("module:attr") so that importing the registry
imports no study code: a stage loads only the study it runs. No torch import here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..core.errors import ConfigError


@dataclass(frozen=True)
class Study:
    """stage: DVC stage name; run / config: "module:attr" of the function and of the params
    type of one entry; keyed: `studies.<name>` maps entry names to entries, one stage per
    entry (`foreach`), else one entry and one stage; fan_out: fan a single entry out over
    this params key instead (one stage per key of that mapping, target = `axis`); deps:
    dvc deps besides the code, with `${key}` / `${item.<field>}` as DVC interpolates them;
    listed_deps: deps computed from the entry's values in params.yaml (single stages);
    params: params keys besides the entry's own; extra_outs: cached outs besides the
    metrics file and the figures folder (PNGs, DVC cache); plot_options: DVC plot
    properties of the study's plot data folder (CSV/JSON, committed; paths.study_data),
    for the studies that write one."""

    stage: str
    run: str
    config: str
    doc: str = ""
    keyed: bool = True
    fan_out: str = ""
    deps: tuple[str, ...] = ()
    listed_deps: Callable[[dict], list[str]] | None = None
    params: tuple[str, ...] = ()
    extra_outs: tuple[str, ...] = ()
    plot_options: tuple[tuple[str, str], ...] = ()

    @property
    def target(self) -> str | None:
        """The stage script's positional argument after the study name, if any."""
        return "axis" if self.fan_out else "name" if self.keyed else None

    def function(self) -> Callable:
        return _resolve(self.run)

    def config_type(self) -> type:
        return _resolve(self.config)


def _resolve(ref: str):
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


def _digits_deps(entry: dict) -> list[str]:
    variants = entry.get("variants", [])
    return [f"{kind}/{v}.{ext}" for kind, ext in (("models", "pt"), ("metrics/eval", "json"),
                                                   ("metrics/rf", "json")) for v in variants]


def _moons_deps(entry: dict) -> list[str]:
    return [f"metrics/studies/moons_sweep_{axis}.json" for axis in entry.get("adopt", [])]


_S = "aelab.studies."
_C = "aelab.studies.config:"
_PROBE = ("classify", "health.min_class_share")  # studies that score samples with classify@'s forest

STUDIES: dict[str, Study] = {
    "digits": Study(
        "study_digits", _S + "digits:study_digits", _C + "DigitsStudyParams", keyed=False,
        doc="bottleneck 2/4/8 on sklearn digits: reconstructions, codes, forest on x̂",
        deps=("data/processed/digits.npz",), listed_deps=_digits_deps, params=("classify",)),
    "moons_sweep": Study(
        "moons_sweep", _S + "sweep:moons_sweep", _C + "MoonsSweepParams", keyed=False,
        fan_out="studies.moons_sweep.axes",
        doc="one hyperparameter of the bottleneck-1 moons AE swept around `base`, with repeats",
        params=("seed",)),
    "moons": Study(
        "study_moons", _S + "moons_study:study_moons", _C + "MoonsStudyParams", keyed=False,
        doc="the sweeps' best setting: seed spread, code GMM, noise 0.2",
        listed_deps=_moons_deps, params=("seed", "studies.moons_sweep.base")),
    "moons_mmd": Study(
        "study_moons_mmd", _S + "mmd:study_moons_mmd", _C + "MoonsMMDParams",
        doc="MMD-regularised AE (latent 2) vs the bottleneck-1 AE; kernel × bandwidths × λ grid",
        deps=("models/${item.variant}.pt", "models/${item.reference}.pt", "data/processed/moons.npz"),
        params=("seed", "variants.${item.variant}")),
    "fmnist_ae_vs_vae": Study(
        "study_fmnist_ae_vs_vae", _S + "ae_vs_vae:study_fmnist_ae_vs_vae", _C + "AEvsVAEParams",
        doc="MLP AE vs VAE on binarized Fashion-MNIST: codes, reconstructions, consistency, samples",
        deps=("models/${item.ae}.pt", "models/${item.vae}.pt", "data/processed/${item.dataset}.npz")),
    "rbm": Study(
        "study_rbm", _S + "rbm:study_rbm", _C + "RBMStudyParams",
        doc="Bernoulli RBM and DBM: lr × hidden grid, Gibbs steps, inpainting, weights, samples",
        deps=("models/${item.variant}.pt", "models/${item.dbm_variant}.pt",
              "data/processed/${item.dataset}.npz"),
        params=("seed", "train", *_PROBE, "variants.${item.variant}", "variants.${item.dbm_variant}")),
    "gan_backbones": Study(
        "study_gan_backbones", _S + "gan_backbones:study_gan_backbones", _C + "GANBackbonesParams",
        doc="conv vs MLP GAN players: samples, forest class histogram, Fréchet distance, curves",
        deps=("models/${item.conv}.pt", "models/${item.mlp}.pt", "metrics/train/${item.conv}.json",
              "metrics/train/${item.mlp}.json", "plots/train/${item.conv}", "plots/train/${item.mlp}",
              "data/processed/${item.dataset}.npz"),
        params=("seed", *_PROBE, "variants.${item.conv}", "variants.${item.mlp}")),
    "photo_samples": Study(
        "study_photo_samples", _S + "photo_samples:study_photo_samples", _C + "PhotoSamplesParams",
        doc="photo samples: deep CAE + code GMM vs VAE vs GAN — sharpness, variety, Fréchet",
        deps=("models/${item.cae}.pt", "models/${item.vae}.pt", "models/${item.gan}.pt",
              "data/processed/${item.dataset}.npz"),
        params=("seed", *_PROBE, "variants.${item.cae}", "variants.${item.vae}", "variants.${item.gan}")),
    "tune": Study(
        "tune", _S + "tune:tune", _C + "TuneParams",
        doc="Optuna: TPE vs random vs grid on one variant, k-fold CV loss",
        deps=("data/processed/${item.dataset}.npz",), params=("variants.${item.variant}",),
        extra_outs=("optuna/${key}",),  # the local SQLite study (storage: "")
        plot_options=(("x", "trial"), ("y", "value"))),  # trials.csv/json
}


def study(name: str) -> Study:
    """The registered study `name`, or a ConfigError listing them."""
    if name not in STUDIES:
        raise ConfigError("studies", f"unknown study {name!r}; registered: {sorted(STUDIES)}")
    return STUDIES[name]


def outputs_stem(name: str, s: Study) -> str:
    """metrics/studies/<stem>.json, plots/studies/<stem>/ (and plots/studies_data/<stem>/):
    `<name>_${key}` when fanned out."""
    return f"{name}_${{key}}" if s.keyed or s.fan_out else name
