"""Model files: weights plus everything needed to rebuild the model without params.yaml."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from .config import to_dict
from .io import atomic_path
from .models import build_model
from .models.base import Autoencoder


def save_checkpoint(path: str | Path, model: Autoencoder, *, model_name: str, variant: str,
                    dataset: str, extra: dict | None = None) -> None:
    state = {
        "model": model_name,
        "model_args": to_dict(model.cfg),
        "input_shape": list(model.input_shape),
        "variant": variant,
        "dataset": dataset,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": extra or {},
    }
    # torch.save to a path names the zip's records after the file's stem (the random temp
    # name here); to a buffer it always uses "archive/", so equal weights give equal bytes
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path, suffix=".pt") as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[Autoencoder, dict]:
    """Rebuild the model from its file; returns (model in eval mode, the saved record)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(state["model"], dict(state["model_args"]), tuple(state["input_shape"]))
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), state
