"""MODELS registry: name → (model class, config dataclass). build_model is the one dispatch.

Which inputs a model takes can depend on its config (deep_cae's n_up fixes the image
side): `supports(name, input_shape, cfg)` answers without building it, and
`check_input` raises the ConfigError that build_model would. A class without a
`check_input` classmethod (the MLP family) takes any input shape.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Autoencoder, ModelOutput
from .conv import ConvAEConfig, ConvAutoencoder, ConvVAE, ConvVAEConfig
from .deep import DeepCAE, DeepCAEConfig, DeepVAE, DeepVAEConfig
from .gan import GAN, GANConfig
from .mlp import MLPAEConfig, MLPAutoencoder, MLPVAE, MLPVAEConfig
from .mmd import MMDAEConfig, MMDAutoencoder
from .rbm import RBM, RBMConfig
from .resconv import ResConvAEConfig, ResConvAutoencoder
from .stacked import StackedAEConfig, StackedAutoencoder

MODELS: dict[str, tuple[type[Autoencoder], type]] = {
    "mlp_ae": (MLPAutoencoder, MLPAEConfig),
    "mlp_vae": (MLPVAE, MLPVAEConfig),
    "conv_ae": (ConvAutoencoder, ConvAEConfig),
    "conv_vae": (ConvVAE, ConvVAEConfig),
    "deep_cae": (DeepCAE, DeepCAEConfig),
    "deep_vae": (DeepVAE, DeepVAEConfig),
    "res_conv_ae": (ResConvAutoencoder, ResConvAEConfig),
    "mmd_ae": (MMDAutoencoder, MMDAEConfig),
    "gan": (GAN, GANConfig),
    "stacked_ae": (StackedAutoencoder, StackedAEConfig),
    "rbm": (RBM, RBMConfig),
}


def _resolve(name: str, cfg):
    if name not in MODELS:
        raise ConfigError("model", f"model {name!r} unknown; choose from {sorted(MODELS)}")
    cls, cfg_cls = MODELS[name]
    if cfg is None or isinstance(cfg, dict):
        from ..config import parse

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


__all__ = ["MODELS", "build_model", "check_input", "supports", "Autoencoder", "ModelOutput"]
