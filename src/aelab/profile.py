"""Switch params.yaml between the default CPU budget and the studies' own settings.

    python -m aelab.profile study      # the studies' epochs, full data, Optuna on 60,000 images
    python -m aelab.profile default    # back to the budget of the default `dvc repro`
    python -m aelab.profile study --dvc-args    # `-S key=value …` for `dvc exp run`

A profile is a flat mapping of dotted params keys to values (profiles/<name>.yaml). Both
profiles name the same keys, so switching one way and back restores params.yaml (comments
and layout kept: ruamel.yaml round trip). Every key must already exist in params.yaml:
a profile never adds a setting the pipeline does not have. The result is validated like
any params file before it is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ruamel.yaml import YAML

from .core import paths
from .core.errors import ConfigError
from .core.io import atomic_path

PROFILES_DIR = Path("profiles")


def round_trip_yaml() -> YAML:
    """The round-trip dumper params.yaml is written with: block style, `  - ` lists, no
    line wrapping, so loading and dumping it changes nothing but the edited values."""
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def load_profile(name: str, folder: Path = PROFILES_DIR) -> dict:
    path = folder / f"{name}.yaml"
    if not path.exists():
        names = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError("profile", f"no profile {name!r} in {folder}/; choose from {names}")
    return dict(YAML(typ="safe").load(path.read_text()) or {})


def _walk(doc, dotted: str):
    """(parent mapping, last key) of an existing dotted key; ConfigError if any part is missing."""
    parts = dotted.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(".".join(parts[: i + 1]), "not in params.yaml (a profile only changes existing settings)")
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        raise ConfigError(dotted, "not in params.yaml (a profile only changes existing settings)")
    return node, parts[-1]


def apply(profile: dict, params_path: Path = paths.PARAMS) -> list[str]:
    """Set every key of `profile` in params.yaml; returns the keys whose value changed."""
    from .core.params import load_params

    y = round_trip_yaml()
    doc = y.load(Path(params_path).read_text())
    changed = []
    for key, value in profile.items():
        parent, last = _walk(doc, key)
        if parent[last] != value:
            parent[last] = value
            changed.append(key)
    with atomic_path(params_path) as tmp:
        with tmp.open("w") as fh:
            y.dump(doc, fh)
        load_params(tmp)  # validate before the swap: a bad profile leaves params.yaml as it was
    return changed


def dvc_args(profile: dict) -> list[str]:
    """`-S key=value` arguments for `dvc exp run` (values as YAML/JSON literals)."""
    return [arg for k, v in profile.items() for arg in ("-S", f"{k}={json.dumps(v, separators=(',', ':'))}")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m aelab.profile", description=__doc__.split("\n")[0])
    ap.add_argument("name", help="profile name: a file profiles/<name>.yaml (study, default)")
    ap.add_argument("--params", default=paths.PARAMS, type=Path)
    ap.add_argument("--dvc-args", action="store_true", help="print -S arguments instead of editing")
    args = ap.parse_args(argv)
    try:
        profile = load_profile(args.name)
        if args.dvc_args:
            print(" ".join(dvc_args(profile)))
            return
        changed = apply(profile, args.params)
    except ConfigError as err:
        sys.exit(f"error: profile {args.name}: {err}")
    print(f"profile {args.name}: {len(changed)} setting(s) changed in {args.params}"
          + "".join(f"\n  {k}" for k in changed))


if __name__ == "__main__":
    main()
