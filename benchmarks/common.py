"""Shared by the benchmarks: the machine and load they record, the per-variant arguments."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def context(load_before: tuple[float, float, float]) -> dict:
    """{"machine": ..., "load": {"before", "after"}}; torch's version when the benchmark imported it
    (the DVC ones do not, to time DVC alone)."""
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "processor": cpu_name(),
               "python": platform.python_version()}
    if "torch" in sys.modules:
        machine["torch"] = sys.modules["torch"].__version__
    return {"machine": machine, "load": {"before": list(load_before), "after": list(os.getloadavg())}}


def variant_parser(doc: str, out: Path, root: Path) -> argparse.ArgumentParser:
    """--variants, --pairs, --threads, --params and --out of the per-variant benchmarks."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default="", help="comma-separated variants (default: every one that applies)")
    ap.add_argument("--pairs", type=int, default=3, help="alternated A/B pairs")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the runtime's policy)")
    ap.add_argument("--params", type=Path, default=root / "params.yaml")
    ap.add_argument("--out", type=Path, default=out)
    return ap
