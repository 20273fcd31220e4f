"""Model files: weights plus everything needed to rebuild the model without params.yaml."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from .core.config import to_dict
from .core.errors import ConfigError, CorruptArtefact
from .core.io import atomic_path
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


# What the record / build_model / load_state_dict raise for a stale or foreign file
_STALE_ERRORS = (RuntimeError, ValueError, KeyError, TypeError, ConfigError)


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> tuple[Autoencoder, dict]:
    """Rebuild the model from its file; returns (model in eval mode, the saved record).

    An unreadable or stale file is a CorruptArtefact naming it and `dvc repro train@<stem>`."""
    path = Path(path)
    rebuild = f"dvc repro train@{path.stem}"
    try:
        # weights_only: tensors and plain containers only, never code. Garbage bytes make its
        # unpickler fail with almost any exception type (IndexError, struct.error, …), hence
        # the broad catch around this one call.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        if isinstance(err, FileNotFoundError):
            problem = "does not exist"
        elif path.is_file() and path.stat().st_size == 0:
            problem = "is empty (0 bytes)"
        else:
            problem = f"is not a loadable model file ({_brief(err)})"
        raise CorruptArtefact(path, problem, rebuild) from None
    try:
        model = build_model(state["model"], dict(state["model_args"]), tuple(state["input_shape"]))
        model.load_state_dict(state["state_dict"])
    except _STALE_ERRORS as err:
        raise CorruptArtefact(path, f"does not match the current model code ({_brief(err)})", rebuild) from None
    return model.to(device).eval(), state


def _brief(err: BaseException) -> str:
    """'Type: message' on one line (torch's messages span many), at most ~300 characters."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}{'…' if len(text) > 300 else ''}"
