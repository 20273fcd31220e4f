"""params.yaml → frozen dataclasses, fully validated before any stage does work.

    params = load_params()                # raises ConfigError naming the dotted key
    v = params.variant("moons_ae_z1")      # resolved: model config dataclass + train settings

Sections owned elsewhere (dataset configs, model configs, task settings, studies) are
validated here through their registries, so one call checks the whole file.

Every setting is written out: a field of a section's dataclass, of an enabled dataset's
`data.<name>` block or of a variant's model config that the file leaves out is an error
naming the dotted key and its code default (require_complete), so `dvc params diff` sees
every value that changes a result. Tests that write a small params file fill it with
complete(); `parse(Params, …)` on a dict, and load_params(strict=False), use the defaults.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import typing
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from ..health import HealthParams
from ..studies.config import StudiesParams
from ..tasks.config import DEFAULT_OOD, EvaluateParams, validate_ood
from . import paths
from .config import join, parse, spec, to_dict
from .errors import AelabError, ConfigError


@dataclass(frozen=True)
class Runtime:
    """threads: torch intra-op threads, 0 = all cores (env AELAB_THREADS overrides; tests
    and queued experiments set 1). device: 'auto' picks CUDA when present, else CPU."""

    threads: int = spec(0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


@dataclass(frozen=True)
class PreprocessParams:
    """preprocess@<dataset>'s figure plots/preprocess/<dataset>.png (aelab.data.preview):
    preview_examples [8] raw originals shown above their preprocessed versions (points
    datasets scatter their training points instead); preview_seed [0] picks them."""

    preview_examples: int = spec(8, ge=1, le=32)
    preview_seed: int = spec(0, ge=0)


@dataclass(frozen=True)
class TrainParams:
    """Shared training settings; a variant's `train:` mapping overrides any of them.

    epochs (passes over the training set), batch_size (samples), lr (learning rate),
    optimizer, weight_decay (L2, decoupled for adamw), lr_schedule ('constant', 'cosine'
    annealing to 0, or 'step': ×0.1 at 50% and 75% of epochs), grad_clip (max global
    norm, 0 = off), bf16 (CPU/GPU autocast; measure before enabling), eval_batch_size,
    diverge_factor (stop when a batch's training loss exceeds this × epoch 1's mean
    training loss, 0 = off; NaN/inf always stop; see aelab.divergence), shift_augment
    (images only: each training batch is shifted by a random whole number of pixels in
    [−k, k] per image and axis, edges replicated; 0 = off; more data for small sets),
    momentum (SGD only; 0 = plain SGD as in the RBM study).
    """

    epochs: int = spec(10, ge=1)
    batch_size: int = spec(128, ge=1)
    lr: float = spec(1e-3, gt=0, le=10)
    optimizer: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    weight_decay: float = spec(0.0, ge=0)
    lr_schedule: Literal["constant", "cosine", "step"] = "constant"
    grad_clip: float = spec(0.0, ge=0)
    bf16: bool = False
    eval_batch_size: int = spec(1024, ge=1)
    diverge_factor: float = spec(10.0, ge=0)
    shift_augment: int = spec(0, ge=0, le=8)
    momentum: float = spec(0.9, ge=0, lt=1)


@dataclass(frozen=True)
class VariantParams:
    """One named experiment: a model on a dataset. Every key other than dataset, model,
    train and description is a setting of the model (its config dataclass validates them,
    keys reported as `variants.<name>.<key>`); train overrides the top-level `train` section."""

    EXTRA_KEYS_INTO: ClassVar[str] = "model_args"
    # Keys params.yaml may leave out (see require_complete): `train` holds overrides of the
    # top-level `train:` section, `description` changes no result.
    OPTIONAL_KEYS: ClassVar[tuple[str, ...]] = ("train", "description", "model_args")

    dataset: str
    model: str
    train: dict[str, Any] = spec({})
    description: str = ""
    model_args: dict[str, Any] = spec({})  # filled by parse from the variant's other keys


@dataclass(frozen=True)
class Variant:
    """A variant resolved against the registries (what train/evaluate stages use)."""

    name: str
    dataset: str
    model: str
    model_cfg: Any  # the model family's config dataclass
    train: TrainParams
    description: str


@dataclass(frozen=True)
class ClassifyParams:
    """Random-forest probe of classify@<variant> (aelab.probe), defaults in brackets.

    n_estimators [200] trees; max_train [10000] training originals the forest is fitted on
    (a seeded random subset, 0 = all); max_test [5000] test images scored (0 = all);
    max_optimized [500]: cap on the test and on the train images reconstructed by a model
    whose encode() optimises z per image (a GAN: encode_steps generator passes each);
    n_samples [500] generated samples judged (model.sample() where the model has a prior,
    else decoded draws of a GMM fitted to the training codes, n_components by BIC among
    gmm_components [1, 2, 3, 4, 6, 8, 10]); n_show [20] samples drawn in the figure;
    seed [0]: random_state of forest, subsets, GMM and sampler.
    """

    n_estimators: int = spec(200, ge=1)
    max_train: int = spec(10000, ge=0)
    max_test: int = spec(5000, ge=0)
    max_optimized: int = spec(500, ge=1)
    n_samples: int = spec(500, ge=1)
    gmm_components: tuple[int, ...] = spec((1, 2, 3, 4, 6, 8, 10))
    n_show: int = spec(20, ge=1, le=100)
    seed: int = spec(0, ge=0)

    def validate(self, key: str) -> None:
        if not self.gmm_components or min(self.gmm_components) < 1:
            raise ConfigError(f"{key}.gmm_components", f"must list sizes >= 1, got {list(self.gmm_components)}")


@dataclass(frozen=True)
class ReportParams:
    title: str = "aelab report"


@dataclass(frozen=True)
class Params:
    seed: int = spec(0, ge=0)
    runtime: Runtime = spec(Runtime())
    datasets: tuple[str, ...] = spec(())
    data: dict[str, Any] = spec({})
    preprocess: PreprocessParams = spec(PreprocessParams())
    train: TrainParams = spec(TrainParams())
    variants: dict[str, VariantParams] = spec({})
    ood: dict[str, str] = spec(DEFAULT_OOD)
    evaluate: EvaluateParams = spec(EvaluateParams())
    classify: ClassifyParams = spec(ClassifyParams())
    health: HealthParams = spec(HealthParams())
    studies: StudiesParams = spec(StudiesParams())
    report: ReportParams = spec(ReportParams())

    def validate(self, key: str) -> None:
        from ..data.registry import get_dataset

        for i, name in enumerate(self.datasets):
            get_dataset(name, f"datasets[{i}]")
        if len(set(self.datasets)) != len(self.datasets):
            raise ConfigError("datasets", "lists a dataset twice")
        for name in self.data:
            get_dataset(name, f"data.{name}")
        validate_ood(self.ood, "ood")
        for name in self.datasets:
            self.dataset_cfg(name)  # validates
        for name in self.variants:
            self.variant(name)

    def dataset_cfg(self, name: str):
        """The validated config dataclass of dataset `name` (defaults where params are silent)."""
        from ..data.registry import get_dataset

        return parse(get_dataset(name).config, self.data.get(name), f"data.{name}")

    def variant(self, name: str) -> Variant:
        if name not in self.variants:
            raise ConfigError("variants", f"unknown variant {name!r}; choose from {sorted(self.variants)}")
        v, key = self.variants[name], f"variants.{name}"
        if v.dataset not in self.datasets:
            raise ConfigError(f"{key}.dataset", f"{v.dataset!r} is not enabled; enabled datasets: "
                              f"{list(self.datasets)} (add it to `datasets`)")
        return self._resolve(name, v, key)

    def _resolve(self, name: str, v: VariantParams, key: str) -> Variant:
        from ..data.registry import get_dataset
        from ..models.configs import MODEL_CONFIGS  # not .models.MODELS: that imports torch

        get_dataset(v.dataset, f"{key}.dataset")
        if v.model not in MODEL_CONFIGS:
            raise ConfigError(f"{key}.model", f"unknown model {v.model!r}; choose from {sorted(MODEL_CONFIGS)}")
        try:
            model_cfg = parse(MODEL_CONFIGS[v.model], v.model_args, key)
        except ConfigError as err:
            if not err.message.startswith("unknown key"):
                raise
            variant_keys = [f.name for f in dataclasses.fields(VariantParams) if f.name != "model_args"]
            raise ConfigError(err.key, f"{err.message} (settings of model {v.model!r}) "
                              f"or {', '.join(variant_keys)}") from None
        base = {f.name: getattr(self.train, f.name) for f in dataclasses.fields(TrainParams)}
        train = parse(TrainParams, {**base, **v.train}, f"{key}.train")
        return Variant(name, v.dataset, v.model, model_cfg, train, v.description)


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """PyYAML's safe loader (the libyaml one where built: 11 ms per parse of params.yaml
    against 90 ms in pure Python, and every stage parses it) that refuses a repeated
    mapping key. PyYAML keeps the last of two `noise:` lines silently, so an edit lower in
    the file would quietly win; this raises ConfigError naming the dotted path and both
    line numbers instead."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_repeated_keys(node, "", set())
        return self.construct_document(node)


def _refuse_repeated_keys(node: yaml.Node, key: str, seen_nodes: set) -> None:
    from .config import join

    if id(node) in seen_nodes:  # an alias to a node already checked (or to itself)
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
                _refuse_repeated_keys(v, key, seen_nodes)  # `<<: *anchor` merges may override, as YAML says
                continue
            dotted = join(key, k.value)
            if k.value in seen:
                raise ConfigError(dotted, f"key repeated at line {k.start_mark.line + 1} (first at "
                                  f"line {seen[k.value]}); YAML would keep only the last — remove one")
            seen[k.value] = k.start_mark.line + 1
            _refuse_repeated_keys(v, dotted, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_repeated_keys(item, join(key, i), seen_nodes)


def load_params(path: str | Path = paths.PARAMS, *, strict: bool = True) -> Params:
    """Load and validate a params file. strict (every file a stage reads): every setting
    must be written out (require_complete); strict=False lets code defaults fill gaps
    (tests of one section; programmatic `parse(Params, …)` never checks completeness)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("", f"{path} not found (run stages from the project root)")
    try:
        raw = yaml.load(path.read_text(), Loader=UniqueKeyLoader) or {}
    except yaml.YAMLError as err:
        raise ConfigError("", f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
    params = parse(Params, raw, "")
    if strict:
        require_complete(raw)
    return params


# --- every setting in the file -------------------------------------------------------------
# A field left out of params.yaml would silently take its code default, which `dvc params
# diff` cannot show. require_complete() refuses that (naming the dotted key and the default);
# complete() writes the defaults in, for tests that build a partial params file.

MISSING = "missing; every setting that changes a result must be in params.yaml (default: {})"


def require_complete(raw: dict) -> None:
    """ConfigError naming the first setting (a field of a section's dataclass, of a data
    block, of a variant's model config) missing from `raw`.
    Run after parse(Params, raw), so types and names are already valid."""
    _walk_settings(raw, fill=False)


def complete(raw: dict) -> dict:
    """A copy of a (partial) params mapping with every missing setting set to its code
    default, so it passes require_complete (for tests that write a small params file)."""
    raw = copy.deepcopy(raw)
    _walk_settings(raw, fill=True)
    return raw


def _walk_settings(raw: dict, fill: bool) -> None:
    from ..data.registry import DATASETS

    _settings(Params, raw, "", fill)
    data = raw.get("data")
    if data is None and fill:
        data = raw["data"] = {}
    for name in raw.get("datasets") or ():  # every enabled dataset has its block …
        if name not in (data or {}):
            if not fill:
                raise ConfigError(f"data.{name}", MISSING.format(_shown(parse(DATASETS[name].config, {}))))
            data[name] = {}
    for name, block in (data or {}).items():  # … and every block is complete
        if name in DATASETS:
            _settings(DATASETS[name].config, block, f"data.{name}", fill)


def _settings(tp, value, key: str, fill: bool) -> None:
    """Walk `value` along annotation `tp`: every init field of a dataclass must be present."""
    from ..models.configs import MODEL_CONFIGS

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            if not f.init or f.name in getattr(tp, "OPTIONAL_KEYS", ()):
                continue
            k = join(key, f.name)
            if f.name not in value:
                default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
                if not fill:
                    raise ConfigError(k, MISSING.format(_shown(default)))
                value[f.name] = to_dict(default) if dataclasses.is_dataclass(default) else _plain(default)
            _settings(hints[f.name], value[f.name], k, fill)
        if tp is VariantParams and value.get("model") in MODEL_CONFIGS:  # model settings sit here too
            _settings(MODEL_CONFIGS[value["model"]], value, key, fill)
    elif origin is dict and isinstance(value, dict) and len(args) == 2:
        for name, item in value.items():
            _settings(args[1], item, join(key, str(name)), fill)


def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _shown(default) -> str:
    """A default as one YAML-readable line (JSON flow: 5, 0.5, "bce", [32, 64], null)."""
    plain = to_dict(default) if dataclasses.is_dataclass(default) else _plain(default)
    return json.dumps(plain, ensure_ascii=False)


@contextmanager
def user_errors(stage: str):
    """Turn AelabError into one line on stderr and its exit code (2 for bad params)."""
    try:
        yield
    except AelabError as err:
        where = "params.yaml: " if isinstance(err, ConfigError) else ""
        print(f"error: {stage}: {where}{err}", file=sys.stderr)
        raise SystemExit(err.exit_code) from None
