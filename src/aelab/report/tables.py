"""Metric files → table rows."""

from __future__ import annotations


def flatten(d: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} → {'a.b': 1}; lists are shown as they are."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def train_table(runs: dict[str, dict], timing: dict[str, dict]) -> tuple[list[str], list[list]]:
    """One row per variant; seconds and samples/s from its timing file (blank without one)."""
    header = ["variant", "model", "dataset", "parameters", "epochs", "fit seconds", "samples/s",
              "train loss", "test loss", "units"]
    rows = []
    for name, m in runs.items():
        t = timing.get(name, {})
        rows.append([name, m.get("model"), m.get("dataset"), m.get("params"), m.get("epochs"),
                     t.get("fit_s", ""), t.get("samples_per_s", ""), m.get("train", {}).get("loss"),
                     m.get("test", {}).get("loss"), m.get("loss_units", "")])
    return header, rows


def phase_table(runs: dict[str, dict]) -> tuple[list[str], list[list]]:
    """One row per training phase of the variants trained in phases (metrics/train `phases`:
    the stacked AE's layer1…finetune, the DBM's pretrain_layer1/2 and joint)."""
    keys = list(dict.fromkeys(k for m in runs.values() for p in (m.get("phases") or {}).values() for k in p))
    rows = [[name, phase, *[p.get(k, "") for k in keys]]
            for name, m in runs.items() for phase, p in (m.get("phases") or {}).items()]
    return ["variant", "phase", *[k.replace("_", " ") for k in keys]], rows


HEALTH_INTRO = ("Checks of aelab.health on every evaluate@ and classify@ result: a model that "
                "learned nothing is listed here, with the numbers that triggered the check. "
                "Training curves are checked too: a final test reconstruction taken while the "
                "curve still swings is flagged.")


def health_table(sources: dict[str, dict[str, dict]], extra: list[list] = ()) -> tuple[list[str], list[list]]:
    """Every warning of every variant: {stage folder: {variant: metrics}} → rows, plus
    `extra` rows already in that shape (the training-curve check, report.curves.unsettled)."""
    stage = {"eval": "evaluate", "rf": "classify"}
    rows = list(extra)
    for folder, runs in sources.items():
        for name, m in runs.items():
            for check, w in (m.get("health") or {}).get("warnings", {}).items():
                rows.append([name, stage.get(folder, folder), check, w.get("why", "")])
    return ["variant", "stage", "check", "what was measured"], sorted(rows)
