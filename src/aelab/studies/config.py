"""Settings of the cross-run studies (`studies:` in params.yaml). No torch import here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StudiesParams:
    """Placeholder section, filled by the studies work (issue 5)."""
