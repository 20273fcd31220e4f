"""Settings of the task suite (`evaluate:` in params.yaml). No torch import here."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import spec


@dataclass(frozen=True)
class EvaluateParams:
    """n_show: images per reconstruction panel; seed: task randomness (noise, holes)."""

    n_show: int = spec(10, ge=1, le=64)
    seed: int = spec(0, ge=0)
