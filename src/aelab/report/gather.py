"""What the findings page reads: every metrics file, the variants' params, timing files and
facts about the run (commit, versions, machine). Read-only; nothing is recomputed."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..core import paths


@dataclass
class Run:
    root: Path
    params: object  # aelab.core.params.Params
    train: dict[str, dict] = field(default_factory=dict)  # metrics/train/<variant>.json
    eval: dict[str, dict] = field(default_factory=dict)  # metrics/eval/<variant>.json (flat keys)
    rf: dict[str, dict] = field(default_factory=dict)  # metrics/rf/<variant>.json
    studies: dict[str, dict] = field(default_factory=dict)  # metrics/studies/<name>.json
    timing: dict[str, dict] = field(default_factory=dict)  # timing/<stage>.json (this machine only)

    def variants(self, dataset: str | None = None, model: str | None = None) -> list[str]:
        """Variant names in params order that have train metrics, filtered."""
        out = []
        for name, v in self.params.variants.items():
            if name not in self.train:
                continue
            if dataset and v.dataset != dataset:
                continue
            if model and v.model != model:
                continue
            out.append(name)
        return out

    def description(self, name: str) -> str:
        v = self.params.variants.get(name)
        return (v.description or "") if v is not None else ""

    def fit_seconds(self, name: str) -> float | None:
        return self.timing.get(f"train@{name}", {}).get("fit_s")

    def plot(self, *parts: str) -> Path | None:
        """plots/<parts…> if that figure exists."""
        p = self.root / "plots" / Path(*parts)
        return p if p.exists() else None


def load_run(params, root: Path) -> Run:
    m = root / "metrics"
    return Run(root, params, _load_dir(m / "train"), _load_dir(m / "eval"), _load_dir(m / "rf"),
               _load_dir(m / "studies"), _load_timing(root))


def _load_dir(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _load_timing(root: Path) -> dict[str, dict]:
    """timing/*.json where this machine has them (timings are not committed: see aelab.core.timing)."""
    folder = root / paths.timing_file("x").parent
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def summary(run: Run) -> list[tuple[str, str]]:
    """(label, value) rows of the run summary at the top of the page."""
    rows = [("built", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
            ("commit", _commit(run.root)),
            ("versions", ", ".join(f"{p} {_version(p)}" for p in
                                   ("torch", "dvc", "scikit-learn", "optuna", "numpy"))
             + f", Python {platform.python_version()}"),
            ("machine", _machine(run))]
    if run.timing:
        total = sum(t.get("total_s", 0.0) for t in run.timing.values())
        slow = max(run.timing.items(), key=lambda kv: kv[1].get("total_s", 0.0))
        rows.append(("stage wall time", f"{total / 60:.1f} min over {len(run.timing)} stages "
                     f"(slowest: {slow[0]}, {slow[1].get('total_s', 0):.0f} s) — the last time each "
                     "stage ran on this machine"))
    else:
        rows.append(("stage wall time", "no timing files on this machine (timing/ is not committed)"))
    sources = {}
    for m in run.train.values():
        sources.setdefault(m.get("dataset"), m.get("data_source", "not recorded"))
    for ds, src in sorted(sources.items(), key=lambda kv: str(kv[0])):
        rows.append((f"data: {ds}", str(src)))
    return rows


def _commit(root: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return head + (" (with uncommitted changes)" if dirty else "")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _machine(run: Run) -> str:
    devices = sorted({m.get("device", "?") for m in run.train.values()})
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; models trained on {', '.join(devices) or 'n/a'}"
