"""Shared entry point of the stage scripts: args, logging, params, one-line errors."""

from __future__ import annotations

import argparse
import logging
from typing import Callable

from .params import load_params, user_errors
from .runtime import setup_logging


def stage_main(stage: str, fn: Callable, target: str | None = None, doc: str = "") -> None:
    """Run `fn(params, <target>)` (or `fn(params)`) as stage `stage@<target>`.

    Bad params exit 2 with the dotted key; other expected failures exit 1 with one line.
    """
    parser = argparse.ArgumentParser(prog=f"stages/{stage}.py", description=doc)
    if target:
        parser.add_argument(target)
    parser.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    args = parser.parse_args()
    setup_logging()
    name = getattr(args, target) if target else None
    label = f"{stage}@{name}" if name else stage
    with user_errors(label):
        params = load_params(args.params)
        fn(params, name) if target else fn(params)
    logging.getLogger("aelab").info("%s: done", label)
