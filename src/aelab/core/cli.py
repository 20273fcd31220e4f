"""Shared entry point of the stage scripts: args, logging, params, one-line errors, timing."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Callable

from .params import load_params, user_errors
from .runtime import setup_logging
from .timing import TIMING_KEY, seconds_since_process_start, write_timing

_IMPORTED_AFTER_S = seconds_since_process_start()  # interpreter + imports up to this module
_T0 = time.perf_counter()


def stage_main(stage: str, fn: Callable, target: str | None = None, doc: str = "",
               argv: list[str] | None = None, prog: str | None = None) -> None:
    """Run `fn(params, <target>)` (or `fn(params)`) as stage `stage@<target>`.

    Bad params exit 2 with the dotted key; other expected failures exit 1 with one line.
    A successful run writes timing/<label>.json (aelab.core.timing); a dict result may carry
    extra timing numbers under TIMING_KEY, which is removed from it.
    """
    parser = argparse.ArgumentParser(prog=prog or f"stages/{stage}.py", description=doc)
    if target:
        parser.add_argument(target)
    parser.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    args = parser.parse_args(argv)
    setup_logging()
    name = getattr(args, target) if target else None
    label = f"{stage}@{name}" if name else stage
    start = time.perf_counter()
    with user_errors(label):
        params = load_params(args.params)
        loaded = time.perf_counter()
        result = fn(params, name) if target else fn(params)
        extra = result.pop(TIMING_KEY, {}) if isinstance(result, dict) else {}
        write_timing(label, startup_s=_IMPORTED_AFTER_S + (start - _T0), params_s=loaded - start,
                     work_s=time.perf_counter() - loaded, **extra)
    logging.getLogger("aelab").info("%s: done", label)


def study_main(argv: list[str], doc: str = "") -> None:
    """`stages/study.py <study> [<entry>]`: run a registered study (aelab.studies.registry)
    as its stage, through stage_main."""
    from ..studies.registry import STUDIES

    if not argv or argv[0] not in STUDIES:
        got = f"unknown study {argv[0]!r}; " if argv else ""
        raise SystemExit(f"error: stages/study.py: {got}registered studies: {', '.join(sorted(STUDIES))}")
    study = STUDIES[argv[0]]
    with user_errors(study.stage):
        fn = study.function()
    stage_main(study.stage, fn, target=study.target, doc=study.doc or doc, argv=argv[1:],
               prog=f"stages/study.py {argv[0]}")
