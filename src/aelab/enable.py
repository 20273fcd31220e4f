"""Enable an opt-in dataset in params.yaml: `python -m aelab.enable cats [--source PATH]`.

Appends the dataset to `datasets:`, moves its twin variants (`<name>_*` under
`optional_variants:`) into `variants:` and optionally sets `data.<name>.source`. Comments
and layout of params.yaml are kept (ruamel.yaml round trip). Then `dvc repro` downloads,
trains and evaluates them; without the data, download@<name> fails with a message saying
how to provide it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data.registry import DATASETS
from .io import atomic_path


def enable(path: Path, name: str, source: str | None = None) -> list[str]:
    """Edit params.yaml in place; returns the variant names moved into `variants`."""
    if name not in DATASETS:
        raise SystemExit(f"error: unknown dataset {name!r}; choose from {sorted(DATASETS)}")
    from .profile import round_trip_yaml

    yaml = round_trip_yaml()  # the same round-trip layout as the profile switch
    doc = yaml.load(path.read_text())
    if name not in doc["datasets"]:
        doc["datasets"].append(name)
    if source is not None:
        doc.setdefault("data", {}).setdefault(name, {})["source"] = source
    optional = doc.get("optional_variants") or {}
    moved = [v for v in list(optional) if optional[v].get("dataset") == name]
    for v in moved:
        doc["variants"][v] = optional.pop(v)
    with atomic_path(path) as tmp, tmp.open("w") as fh:
        yaml.dump(doc, fh)
    return moved


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m aelab.enable", description=__doc__.split("\n")[0])
    ap.add_argument("dataset", choices=sorted(n for n, s in DATASETS.items() if not s.offline))
    ap.add_argument("--source", help="local folder/archive to read instead of downloading")
    ap.add_argument("--params", default="params.yaml", type=Path)
    args = ap.parse_args(argv)
    moved = enable(args.params, args.dataset, args.source)
    print(f"enabled {args.dataset}: datasets += {args.dataset}; variants += {moved or 'none'}",
          file=sys.stdout)


if __name__ == "__main__":
    main()
