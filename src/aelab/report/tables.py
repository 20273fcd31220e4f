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


def train_table(runs: dict[str, dict]) -> tuple[list[str], list[list]]:
    header = ["variant", "model", "dataset", "parameters", "epochs", "seconds", "samples/s",
              "train loss", "test loss", "units"]
    rows = []
    for name, m in runs.items():
        rows.append([name, m.get("model"), m.get("dataset"), m.get("params"), m.get("epochs"),
                     m.get("seconds"), m.get("samples_per_s"), m.get("train", {}).get("loss"),
                     m.get("test", {}).get("loss"), m.get("loss_units", "")])
    return header, rows
