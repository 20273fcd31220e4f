"""One page (report/index.html + report/README.md) from what the stages wrote.

Nothing here computes a result: tables come from metrics/**/*.json, figures are the PNGs
under plots/ (linked, not copied) plus training curves drawn from the dvclive TSVs.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

from .. import paths
from ..io import write_text
from .curves import draw_training_curves
from .tables import HEALTH_INTRO, flatten, health_table, train_table

log = logging.getLogger("aelab")

SECTIONS = (  # (folder under metrics/ and plots/, heading)
    ("train", "Training"),
    ("eval", "Tasks"),
    ("rf", "Random forest on reconstructions and samples"),
    ("studies", "Studies"),
)


def build_report(params, _name=None, root: str | Path = ".") -> Path:
    root = Path(root)
    out = root / paths.report_dir()
    out.mkdir(parents=True, exist_ok=True)
    curves = draw_training_curves(root / "plots/train", out / "curves")
    md = [f"# {params.report.title}", ""]
    body = [f"<h1>{html.escape(params.report.title)}</h1>"]
    header, rows = health_table({f: _load_dir(root / "metrics" / f) for f in ("eval", "rf")})
    md += ["## Health", "", HEALTH_INTRO, "", _md_table(header, rows) if rows else "No warnings.", ""]
    body += ["<h2>Health</h2>", f"<p>{html.escape(HEALTH_INTRO)}</p>",
             _html_table(header, rows) if rows else "<p>No warnings.</p>"]
    train_rows = _load_dir(root / "metrics/train")
    if train_rows:
        header, rows = train_table(train_rows, _load_timing(root, "train", train_rows))
        md += ["## Training", "", _md_table(header, rows), ""]
        body += ["<h2>Training</h2>", _html_table(header, rows)]
        for variant, png in curves.items():
            rel = png.relative_to(out)
            md.append(f"![{variant} training curves]({rel})")
            body.append(f'<figure><img src="{rel}" alt="{variant}"><figcaption>{variant}</figcaption></figure>')
    for folder, heading in SECTIONS[1:]:
        data = _load_dir(root / "metrics" / folder)
        figs = sorted((root / "plots" / folder).rglob("*.png"))
        if not data and not figs:
            continue
        md += [f"## {heading}", ""]
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for name, metrics in data.items():
            header, rows = ["metric", "value"], [[k, v] for k, v in flatten(metrics).items()]
            md += [f"### {name}", "", _md_table(header, rows), ""]
            body += [f"<h3>{html.escape(name)}</h3>", _html_table(header, rows)]
            for png in (f for f in figs if f.parent.name == name or f.stem.startswith(name)):
                rel = Path("..") / png.relative_to(root)
                md.append(f"![{png.stem}]({rel})")
                body.append(f'<figure><img src="{rel}" alt="{png.stem}"><figcaption>{png.stem}</figcaption></figure>')
    write_text(out / "README.md", "\n".join(md) + "\n")
    write_text(out / "index.html", _page(params.report.title, "\n".join(body)))
    log.info("report: %s (%d training runs)", out / "index.html", len(train_rows))
    return out


def _load_timing(root: Path, stage: str, names) -> dict[str, dict]:
    """timing/<stage>@<name>.json where this machine has one (timings are not committed)."""
    out = {}
    for name in names:
        path = root / paths.timing_file(f"{stage}@{name}")
        if path.exists():
            out[name] = json.loads(path.read_text())
    return out


def _load_dir(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, body: str) -> str:
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
             "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
             "th{background:#f3f3f3}img{max-width:100%}figure{display:inline-block;margin:.5em}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{body}</body></html>\n")
