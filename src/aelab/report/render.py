"""Sections → report/index.html and report/README.md, self-contained.

Every figure a section shows is copied to report/figures/ (and every training curve is
drawn into report/curves/), so the folder opens offline from anywhere; nothing links
outside report/. Per-variant detail goes into collapsed <details> blocks of the appendix.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .text import num

_MD_BOLD = re.compile(r"`([^`]+)`")


@dataclass
class Section:
    id: str
    title: str
    question: str = ""
    ran: list[str] = field(default_factory=list)  # what was run, one bullet each
    findings: list[str] = field(default_factory=list)  # generated sentences
    table: tuple[list[str], list[list]] | None = None
    figures: list[tuple[Path, str]] = field(default_factory=list)  # (png, caption)
    notes: list[str] = field(default_factory=list)  # caveats in small print

    @property
    def empty(self) -> bool:
        return not (self.findings or self.table or self.figures)


@dataclass
class Appendix:
    title: str
    blocks: list[tuple[str, tuple[list[str], list[list]], list[tuple[Path, str]]]]  # (name, table, figs)


def copy_figure(src: Path, out: Path, root: Path) -> str:
    """Copy plots/… into report/figures/… (same relative layout); returns the relative link."""
    try:
        rel = src.relative_to(root / "plots")
    except ValueError:
        return src.relative_to(out).as_posix()  # already under report/ (training curves)
    dest = out / "figures" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.stat().st_mtime < src.stat().st_mtime:
        shutil.copy2(src, dest)
    return dest.relative_to(out).as_posix()


def _cell(v) -> str:
    return num(v) if not isinstance(v, str) else v


def _inline(text: str) -> str:
    """Escaped HTML with `code` spans."""
    return _MD_BOLD.sub(r"<code>\1</code>", html.escape(text))


def html_table(header, rows, cls: str = "") -> str:
    head = "".join(f"<th>{_inline(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""  # key/value tables: none
    body = "".join("<tr>" + "".join(f"<td>{_inline(_cell(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='{cls}'>{thead}<tbody>{body}</tbody></table>"


def md_table(header, rows) -> str:
    esc = lambda s: _cell(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render(title: str, summary: list[tuple[str, str]], health: tuple[list[str], list[list]],
           health_intro: str, sections: list[Section], appendix: list[Appendix], out: Path,
           root: Path, data_figures: list[tuple[Path, str]] = ()) -> tuple[str, str]:
    """(html page, markdown) of the whole report; copies the figures it shows. data_figures:
    small figures collapsed under the health panel (the preprocessing previews, one per
    dataset)."""
    skipped = [s.title for s in sections if s.empty]
    sections = [s for s in sections if not s.empty]
    toc = [("summary", "Run summary"), ("health", "Health")] + [(s.id, s.title) for s in sections]
    toc += [(f"appendix-{i}", a.title) for i, a in enumerate(appendix)]
    h = [f"<h1>{html.escape(title)}</h1>", "<nav><b>Contents</b><ol>"]
    h += [f"<li><a href='#{i}'>{html.escape(t)}</a></li>" for i, t in toc] + ["</ol></nav>"]
    md = [f"# {title}", "", "Contents:", ""] + [f"{k + 1}. [{t}](#{i})" for k, (i, t) in enumerate(toc)] + [""]
    h += ["<h2 id='summary'>Run summary</h2>", html_table(["", ""], [list(r) for r in summary], "kv")]
    md += ["<a id='summary'></a>", "## Run summary", "", md_table(["", ""], [list(r) for r in summary]), ""]
    header, rows = health
    h += ["<h2 id='health'>Health</h2>", f"<p>{_inline(health_intro)}</p>",
          html_table(header, rows, "health") if rows else "<p>No warnings: every check passed.</p>"]
    md += ["<a id='health'></a>", "## Health", "", health_intro, "",
           md_table(header, rows) if rows else "No warnings: every check passed.", ""]
    if skipped:
        line = "Left out, no metrics in this run: " + "; ".join(skipped) + "."
        h.append(f"<p class='note'>{html.escape(line)}</p>")
        md += [line, ""]
    h_data, md_data = _data_figures(data_figures, out, root)
    h += h_data
    md += md_data
    for s in sections:
        hs, ms = _section(s, out, root)
        h += hs
        md += ms
    for i, a in enumerate(appendix):
        h.append(f"<h2 id='appendix-{i}'>{html.escape(a.title)}</h2>")
        md += [f"<a id='appendix-{i}'></a>", f"## {a.title}", ""]
        for name, (th, tr), figs in a.blocks:
            h.append(f"<details><summary>{html.escape(name)}</summary>")
            md += ["<details>", f"<summary>{name}</summary>", ""]
            if tr:
                h.append(html_table(th, tr))
                md += [md_table(th, tr), ""]
            for png, caption in figs:
                link = copy_figure(png, out, root)
                h.append(_figure(link, caption))
                md += [f"![{caption}]({link})", ""]
            h.append("</details>")
            md += ["</details>", ""]
    return _page(title, "\n".join(h)), "\n".join(md) + "\n"


def _data_figures(figures, out: Path, root: Path) -> tuple[list[str], list[str]]:
    """The preprocessing previews, collapsed under the health panel (so the first screen
    holds the contents, the run summary and the health panel)."""
    if not figures:
        return [], []
    label = f"Data: raw originals above what the models see ({len(figures)} datasets)"
    h, md = [f"<details><summary>{html.escape(label)}</summary>"], ["<details>", f"<summary>{label}</summary>", ""]
    for png, caption in figures:
        link = copy_figure(png, out, root)
        h.append(_figure(link, caption, "small"))
        md += [f"<img src='{link}' alt='{html.escape(caption)}' width='{SMALL_PX}'>", "", f"*{caption}*", ""]
    return h + ["</details>"], md + ["</details>", ""]


def _section(s: Section, out: Path, root: Path) -> tuple[list[str], list[str]]:
    h = [f"<section><h2 id='{s.id}'>{html.escape(s.title)}</h2>"]
    md = [f"<a id='{s.id}'></a>", f"## {s.title}", ""]
    if s.question:
        h.append(f"<p class='q'><b>Question.</b> {_inline(s.question)}</p>")
        md += [f"**Question.** {s.question}", ""]
    if s.ran:
        h.append("<p><b>What was run.</b></p><ul>" + "".join(f"<li>{_inline(r)}</li>" for r in s.ran) + "</ul>")
        md += ["**What was run.**", ""] + [f"- {r}" for r in s.ran] + [""]
    if s.findings:
        h.append("<p><b>What the numbers say.</b></p><ul class='findings'>"
                 + "".join(f"<li>{_inline(f)}</li>" for f in s.findings) + "</ul>")
        md += ["**What the numbers say.**", ""] + [f"- {f}" for f in s.findings] + [""]
    if s.table:
        h.append(html_table(*s.table))
        md += [md_table(*s.table), ""]
    for png, caption in s.figures:
        link = copy_figure(png, out, root)
        h.append(_figure(link, caption))
        md += [f"![{caption}]({link})", "", f"*{caption}*", ""]
    if s.notes:
        h.append("<p class='note'>" + " ".join(_inline(n) for n in s.notes) + "</p>")
        md += ["> " + " ".join(s.notes), ""]
    h.append("</section>")
    return h, md


SMALL_PX = 440  # width of the small figures (data previews)


def _figure(link: str, caption: str, cls: str = "") -> str:
    return (f"<figure class='{cls}'><img src='{html.escape(link)}' alt='{html.escape(caption)}'>"
            f"<figcaption>{_inline(caption)}</figcaption></figure>")


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;line-height:1.45;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
nav{background:#f7f7f7;padding:.5em 1em;border-radius:6px;columns:2;font-size:.95em}
nav ol{margin:.3em 0}table{border-collapse:collapse;margin:.8em 0;font-size:.85em}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}table.health td:first-child{white-space:nowrap}
img{max-width:100%}figure{margin:.8em 0}figure.small{display:inline-block;margin:.4em 1em .4em 0;
max-width:440px;vertical-align:top}figcaption{font-size:.85em;color:#555}
p.q{background:#eef5ff;padding:.4em .7em;border-left:4px solid #4a7fd1}
p.note{font-size:.85em;color:#555}ul.findings li{margin:.25em 0}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}code{font-size:.92em}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>\n")
