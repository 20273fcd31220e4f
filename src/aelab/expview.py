"""expview: `dvc exp show --only-changed`, narrow: what changed between experiments, one
row per changed param or headline number, one column per experiment.

Why not DVC's own table: every variant's headline file has the same keys (mse, psnr …, so
that `dvc metrics show` is one compact row per variant), and `dvc exp show` then names each
colliding column with its file (`metrics/headline/digits_ae_z8.json:mse`, 40+ characters;
dvc/repo/experiments/show.py `_normalize_headers`). One `-S` change printed 817 columns.
Here a headline number is `<variant> <key>` and experiments are columns, so a few
experiments fit in 200 columns; wider sets wrap into blocks of columns.

    python -m aelab.expview                 # runs `dvc exp show --json` (HEAD and its experiments)
    python -m aelab.expview -A              # options after the first are passed to dvc exp show
    dvc exp show --json | python -m aelab.expview --json -   # or read that JSON
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .core import paths

MISSING = "-"


@dataclass(frozen=True)
class Row:
    """One row of `dvc exp show`: the workspace, a baseline commit or an experiment."""
    label: str
    values: dict[str, object]  # quantity name → value, for every param and metric it has
    metrics: frozenset[str] = frozenset()  # which of those names are metrics


def _flatten(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def metric_name(path: str, key: str) -> str:
    """`metrics/headline/digits_ae_z8.json`, `mse` → `digits_ae_z8 mse`; `_studies.json` →
    `studies <key>`; a metrics file elsewhere keeps its path (`path:key`)."""
    p = Path(path)
    if p.parent == paths.headline_dir() and p.suffix == ".json":
        return f"{p.stem.lstrip('_')} {key}"
    return f"{path}:{key}"


def _row(label: str, data: dict | None) -> Row:
    """Params (dotted keys; a params file other than params.yaml prefixes its path) and
    metrics of one row's `data`; deps are left out (`dvc exp show` lists them)."""
    params: dict[str, object] = {}
    for path, item in ((data or {}).get("params") or {}).items():
        prefix = "" if path == "params.yaml" else f"{path}:"
        params.update({f"{prefix}{k}": v for k, v in _flatten((item or {}).get("data") or {}).items()})
    metrics = {metric_name(path, k): v for path, item in ((data or {}).get("metrics") or {}).items()
               for k, v in _flatten((item or {}).get("data") or {}).items()}
    return Row(label, {**params, **metrics}, frozenset(metrics))


def rows_from_show(show: list[dict]) -> list[Row]:
    """Rows in `dvc exp show` order: each baseline (workspace, commits) then its experiments."""
    rows = []
    for base in show:
        label = base.get("name") or (base["rev"] if base["rev"] == "workspace" else base["rev"][:7])
        rows.append(_row(label, base.get("data")))
        for group in base.get("experiments") or []:
            for rev in group.get("revs") or []:  # a checkpoint-free experiment has one rev
                name = rev.get("name") or group.get("name") or (rev.get("rev") or "?")[:7]
                rows.append(_row(name, rev.get("data")))
    return rows


def changed(rows: list[Row]) -> list[str]:
    """Quantities whose value differs between the rows (missing counts as a value), params
    first, then metrics grouped by their variant, in name order."""
    names = {n for r in rows for n in r.values}
    diff = [n for n in names if len({json.dumps(r.values.get(n, MISSING), sort_keys=True) for r in rows}) > 1]
    metrics = frozenset().union(*(r.metrics for r in rows))
    return sorted(diff, key=lambda n: (n in metrics, n))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return MISSING if value is None else str(value)


def render(rows: list[Row], names: list[str], width: int = 200) -> str:
    """A text table: the quantity names down the left, one column per row; columns that do
    not fit in `width` go to a further block under the first."""
    if not names:
        return "no param or metric differs between " + ", ".join(r.label for r in rows) + "\n"
    left = max(map(len, ["", *names]))
    cells = [[_cell(r.values.get(n, MISSING)) for n in names] for r in rows]
    widths = [max(len(r.label), *map(len, col)) for r, col in zip(rows, cells)]
    blocks, block, used = [], [], left
    for i, w in enumerate(widths):
        if block and used + 2 + w > width:
            blocks.append(block)
            block, used = [], left
        block.append(i)
        used += 2 + w
    blocks.append(block)
    lines = []
    for block in blocks:
        lines.append(" " * left + "".join(f"  {rows[i].label:>{widths[i]}}" for i in block))
        lines.append("-" * (left + sum(2 + widths[i] for i in block)))
        for j, name in enumerate(names):
            lines.append(f"{name:<{left}}" + "".join(f"  {cells[i][j]:>{widths[i]}}" for i in block))
        lines.append("")
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aelab.expview", description=__doc__.split("\n\n")[0],
                                     epilog="Other options go to `dvc exp show` (e.g. -A, -n 3, --rev).")
    parser.add_argument("--json", dest="source", metavar="FILE", help="a file of `dvc exp show --json` output, "
                        "or - for stdin (default: run it)")
    parser.add_argument("--width", type=int, default=shutil.get_terminal_size((200, 24)).columns,
                        help="columns before wrapping (default: the terminal's)")
    args, dvc_args = parser.parse_known_args(argv)  # e.g. ["-n", "3"]: passed on whole
    if args.source == "-":
        text = sys.stdin.read()
    elif args.source:
        text = Path(args.source).read_text()
    else:
        dvc = Path(sys.executable).with_name("dvc")
        run = subprocess.run([str(dvc) if dvc.exists() else "dvc", "exp", "show", "--json", *dvc_args],
                             capture_output=True, text=True)
        if run.returncode:
            sys.stderr.write(run.stderr)
            return run.returncode
        text = run.stdout
    rows = rows_from_show(json.loads(text))
    sys.stdout.write(render(rows, changed(rows), args.width))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
