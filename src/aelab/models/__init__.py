"""The model families: MODELS registry (name → (model class, config dataclass)), build_model.

Importing this package is cheap: only the torch-free config classes (MODEL_CONFIGS, what
params validation needs) load eagerly. MODELS, build_model, check_input, supports
(models/registry.py) and Autoencoder, ModelOutput (models/base.py) import torch, so they
are resolved on first use (PEP 562); `from aelab.models import build_model` works as before.
"""

from __future__ import annotations

import importlib

from .configs import MODEL_CONFIGS

# name → the submodule that defines it; imported on first access
_LAZY = {
    "MODELS": ".registry",
    "build_model": ".registry",
    "check_input": ".registry",
    "supports": ".registry",
    "Autoencoder": ".base",
    "ModelOutput": ".base",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["MODELS", "MODEL_CONFIGS", "build_model", "check_input", "supports", "Autoencoder",
           "ModelOutput"]
