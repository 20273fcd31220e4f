"""MODELS registry: name → (model class, config dataclass). build_model is the one dispatch."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Autoencoder, ModelOutput
from .mlp import MLPAEConfig, MLPAutoencoder, MLPVAE, MLPVAEConfig

MODELS: dict[str, tuple[type[Autoencoder], type]] = {
    "mlp_ae": (MLPAutoencoder, MLPAEConfig),
    "mlp_vae": (MLPVAE, MLPVAEConfig),
}


def build_model(name: str, cfg, input_shape: tuple[int, ...]) -> Autoencoder:
    """cfg: the config dataclass (or a plain dict, validated here) of model `name`."""
    if name not in MODELS:
        raise ConfigError("model", f"model {name!r} unknown; choose from {sorted(MODELS)}")
    cls, cfg_cls = MODELS[name]
    if isinstance(cfg, dict):
        from ..config import parse

        cfg = parse(cfg_cls, cfg, "model_args")
    return cls.from_config(cfg, tuple(input_shape))


__all__ = ["MODELS", "build_model", "Autoencoder", "ModelOutput"]
