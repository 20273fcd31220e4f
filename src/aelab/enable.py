"""Enable an opt-in dataset in params.yaml: `python -m aelab.enable cats [--source PATH]`.

Appends the dataset to `datasets:`, copies its twin variants (the entries of
src/aelab/optional_variants.yaml whose dataset is <name>) into `variants:` and optionally
sets `data.<name>.source`. Comments and layout of params.yaml are kept (ruamel.yaml round
trip); the catalogue keeps its entries. Then `dvc repro` downloads,
trains and evaluates them; without the data, download@<name> fails with a message saying
how to provide it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data.registry import DATASETS, get_dataset
from .core.io import atomic_path


OPTIONAL_VARIANTS = Path(__file__).with_name("optional_variants.yaml")


def optional_variants(yaml=None) -> dict:
    """name → variant block of the catalogue (ruamel round-trip nodes when `yaml` is given)."""
    if yaml is None:
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe")
    return yaml.load(OPTIONAL_VARIANTS.read_text())["optional_variants"]


def enable(path: Path, name: str, source: str | None = None) -> list[str]:
    """Edit params.yaml in place; returns the variant names copied into `variants`."""
    from .core.errors import ConfigError

    try:
        get_dataset(name, "dataset")
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from None
    from .profile import round_trip_yaml

    yaml = round_trip_yaml()  # the same round-trip layout as the profile switch
    doc = yaml.load(path.read_text())
    if name not in doc["datasets"]:
        doc["datasets"].append(name)
    if source is not None:
        doc.setdefault("data", {}).setdefault(name, {})["source"] = source
    optional = optional_variants(yaml)
    moved = [v for v in optional if optional[v].get("dataset") == name and v not in doc["variants"]]
    for v in moved:
        doc["variants"][v] = optional[v]
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
