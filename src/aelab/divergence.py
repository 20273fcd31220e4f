"""Catching a diverging run at the batch where it went wrong, without a sync per step.

Every step hands its detached loss terms (device scalars) to `DivergenceGuard.add`, which
only keeps the references; `end_epoch` stacks them into one (batches, terms) tensor and
reads the first bad batch with a single sync. A batch is bad when any term is NaN/inf, or
when the total `loss` exceeds `factor` × the reference:
  - epochs ≥ 2: epoch 1's mean training loss;
  - epoch 1: its first batch's loss (the untrained model's, normally the epoch's highest),
    as epoch 1's mean is not known until the epoch ends. A run that explodes in its first
    epoch (Adam at lr 10: 1e29) would otherwise set a reference nothing later exceeds.
The factor check needs a positive reference and a model whose loss only falls in healthy
training (`Autoencoder.monotone_objective`); the RBM's CD gap (can be negative), the GAN's
adversarial terms (G's loss rises whenever D improves) and the stacked AE's head/finetune
phases (a new objective) get the NaN/inf check only. The factor applies to the total
`loss`, not to the logged terms: a VAE's KL rightly grows from ~0.
A bad batch raises TrainingDiverged naming stage, epoch, batch and term.
"""

from __future__ import annotations

import math

import torch

from .core.errors import TrainingDiverged

ADVICE = "lower the learning rate or enable train.grad_clip"


class DivergenceGuard:
    def __init__(self, name: str, factor: float, monotone: bool = True):
        self.name, self.factor = name, factor if monotone else 0.0
        self.reference: float | None = None  # epoch 1's mean training loss
        self._rows: list[dict[str, torch.Tensor]] = []

    def add(self, terms: dict[str, torch.Tensor]) -> None:
        """One step's detached scalars, {'loss': total, <term>: …}; no device work."""
        self._rows.append(terms)

    def end_epoch(self, epoch: int, mean_loss: float) -> None:
        """Raise TrainingDiverged at the epoch's first bad batch; else remember the reference."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        names = list(rows[0])
        t = torch.stack([torch.stack([r[k] for r in rows]).float() for k in names], 1)  # (batches, terms)
        bad = ~torch.isfinite(t)
        limit = self._limit(t[0, 0])
        if limit is not None:
            bad[:, 0] |= t[:, 0] > limit
        n = len(rows)
        first = int(torch.where(bad.any(1), torch.arange(n, device=t.device), n).min())  # the one sync
        if first < n:
            self._raise(epoch, first, n, names, t[first].tolist(), bad[first].tolist(), limit)
        if self.reference is None:
            self.reference = mean_loss

    def _limit(self, first_loss: torch.Tensor) -> torch.Tensor | float | None:
        if self.factor <= 0:
            return None
        if self.reference is not None:
            return self.factor * self.reference if self.reference > 0 else None
        # epoch 1, still on the device: no limit when the first batch's loss is not positive
        return torch.where(first_loss > 0, self.factor * first_loss, math.inf)

    def _raise(self, epoch, batch, n, names, values, bad, limit) -> None:
        where = f"train@{self.name}: epoch {epoch}, batch {batch + 1}/{n}"
        for k, v, b in zip(names, values, bad):
            if b and not math.isfinite(v):
                raise TrainingDiverged(f"{where}: loss term {k!r} is {v}; {ADVICE}")
        ref = (f"epoch 1's mean training loss {self.reference:.4g}" if self.reference is not None
               else f"epoch 1's first batch loss {float(limit) / self.factor:.4g}")
        raise TrainingDiverged(f"{where}: loss term {names[0]!r} is {values[0]:.4g}, above "
                               f"train.diverge_factor {self.factor:g} × {ref}; lower the learning rate, "
                               "enable train.grad_clip or raise train.diverge_factor (0 = off)")
