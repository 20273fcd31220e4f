"""Lookups shared by the section builders: one variant's numbers by meaning, not by path."""

from __future__ import annotations

from .gather import Run
from .text import Rate, num, rate


def ev(run: Run, name: str, key: str):
    """metrics/eval/<name>.json[key] (flat dotted keys), or None."""
    return run.eval.get(name, {}).get(key)


def rf_rate(run: Run, name: str, key: str = "test_reconstructions") -> Rate | None:
    """A forest accuracy of classify@<name> (accuracy.<key>) as a Rate."""
    return rate(run.rf.get(name, {}).get("accuracy"), key)


def knn_rate(run: Run, name: str) -> Rate | None:
    return rate(run.eval.get(name), "latent.knn_accuracy")


def auroc(run: Run, name: str) -> Rate | None:
    return rate(run.eval.get(name), "anomaly.auroc")


def test_loss(run: Run, name: str) -> tuple[float | None, str]:
    m = run.train.get(name, {})
    return m.get("test", {}).get("loss"), m.get("loss_units", "")


def health(run: Run, name: str) -> str:
    """'ok' or the names of the checks that fired (evaluate@ and classify@ together)."""
    fired = []
    for src in (run.eval.get(name), run.rf.get(name)):
        fired += list(((src or {}).get("health") or {}).get("warnings", {}))
    if not fired and name not in run.eval and name not in run.rf:
        return "n/a"
    return "ok" if not fired else ", ".join(sorted(set(fired)))


SIDES = ("train", "gap")  # `<level>.train.<m>`, `<level>.gap.<m>`: a level's training-subset numbers


def levels(run: Run, names: list[str], prefix: str) -> list[str]:
    """The task levels present for every variant, e.g. 'gauss_0.5' under 'denoise.' (its
    train-side keys, 'denoise.gauss_0.5.train.gain', name the same level, not another)."""
    found: list[str] = []
    for n in names:
        for k in run.eval.get(n, {}):
            if k.startswith(prefix) and "." in k[len(prefix):]:
                level = k[len(prefix):k.rindex(".")]  # 'gauss_0.5' of 'denoise.gauss_0.5.gain'
                if level in SIDES or level.rpartition(".")[2] in SIDES:
                    continue
                if level not in found:
                    found.append(level)
    return found


def cell_rate(r: Rate | None) -> str:
    return r.pct() if r else "n/a"


def cell_num(v, digits: int = 4) -> str:
    return num(v, digits)


def image_variants(run: Run) -> list[str]:
    """Variants whose evaluate@ ran image tasks (reconstruct present)."""
    return [n for n in run.variants() if ev(run, n, "reconstruct.test.mse_per_pixel") is not None]
