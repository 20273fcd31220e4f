"""MODELS registry: name → (model class, config dataclass). build_model is the one dispatch.

Which inputs a model takes can depend on its config (deep_cae's n_up fixes the image
side): `supports(name, input_shape, cfg)` answers without building it, and
`check_input` raises the ConfigError that build_model would. A class without a
`check_input` classmethod (the MLP family) takes any input shape.

Importing this module imports torch (every model class); params validation needs only
the config classes and reads configs.MODEL_CONFIGS instead.
"""

from __future__ import annotations

from ..core.errors import ConfigError
from .base import Autoencoder
from .configs import MODEL_CONFIGS
from .conv import ConvAutoencoder, ConvVAE
from .dbm import DBM
from .deep import DeepCAE, DeepVAE
from .gan import GAN
from .mlp import MLPAutoencoder, MLPVAE
from .mmd import MMDAutoencoder
from .rbm import RBM
from .resconv import ResConvAutoencoder
from .stacked import StackedAutoencoder

_CLASSES: dict[str, type[Autoencoder]] = {
    "mlp_ae": MLPAutoencoder,
    "mlp_vae": MLPVAE,
    "conv_ae": ConvAutoencoder,
    "conv_vae": ConvVAE,
    "deep_cae": DeepCAE,
    "deep_vae": DeepVAE,
    "res_conv_ae": ResConvAutoencoder,
    "mmd_ae": MMDAutoencoder,
    "gan": GAN,
    "stacked_ae": StackedAutoencoder,
    "rbm": RBM,
    "dbm": DBM,
}
# One name list for both tables: a model added to one and not the other fails at import,
# not later as a params.yaml that validates but cannot build.
if set(_CLASSES) != set(MODEL_CONFIGS):
    raise ImportError(f"models/registry.py and models/configs.py disagree on the model names: "
                      f"{sorted(set(_CLASSES) ^ set(MODEL_CONFIGS))}")

MODELS: dict[str, tuple[type[Autoencoder], type]] = {
    name: (_CLASSES[name], cfg_cls) for name, cfg_cls in MODEL_CONFIGS.items()}


def _resolve(name: str, cfg):
    if name not in MODELS:
        raise ConfigError("model", f"model {name!r} unknown; choose from {sorted(MODELS)}")
    cls, cfg_cls = MODELS[name]
    if cfg is None or isinstance(cfg, dict):
        from ..core.config import parse

        cfg = parse(cfg_cls, cfg or {}, "model_args")
    return cls, cfg


def check_input(name: str, cfg, input_shape: tuple[int, ...]) -> None:
    """Raise ConfigError (naming the key) if model `name` with `cfg` cannot take input_shape."""
    cls, cfg = _resolve(name, cfg)
    check = getattr(cls, "check_input", None)
    if check is not None:
        check(cfg, tuple(input_shape))


def supports(name: str, input_shape: tuple[int, ...], cfg=None) -> bool:
    """Whether model `name` (default config unless given) can be built for input_shape."""
    try:
        check_input(name, cfg, input_shape)
    except ConfigError:
        return False
    return True


def build_model(name: str, cfg, input_shape: tuple[int, ...]) -> Autoencoder:
    """cfg: the config dataclass (or a plain dict, validated here) of model `name`."""
    cls, cfg = _resolve(name, cfg)
    return cls.from_config(cfg, tuple(input_shape))
