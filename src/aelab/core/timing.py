"""Timing files: wall seconds and peak memory of each stage run, apart from the results.

    timing/<stage>@<target>.json = {"stage", "startup_s", "params_s", "work_s", "total_s",
                                    "peak_rss_mib", <stage extras, e.g. samples_per_s>}

startup_s is the interpreter and imports up to the stage's entry point (from the process's
start time in /proc; 0 where /proc is missing), params_s loading and validating
params.yaml, work_s the stage's own work. Timings vary run to run, so they live here and
not in metrics/ (see paths.timing_file), and README's slowest-stages table reads them.
"""

from __future__ import annotations

import os
import resource
import sys

from . import paths

TIMING_KEY = "_timing"  # a stage function's dict result may carry extras under this key


def seconds_since_process_start() -> float:
    """Wall seconds since this process started (Linux /proc); 0.0 elsewhere."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mib() -> float:
    """Peak resident memory of this process (ru_maxrss: KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def write_timing(label: str, **numbers: float) -> dict:
    from .io import rounded, write_json

    record = {"stage": label, **numbers}
    record["total_s"] = sum(numbers.get(k, 0.0) for k in ("startup_s", "params_s", "work_s"))
    record["peak_rss_mib"] = peak_rss_mib()
    record = rounded(record, 4)
    write_json(paths.timing_file(label), record)
    return record
