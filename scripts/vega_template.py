"""Write .dvc/plots_offline.html: DVC's plots page template with vega, vega-lite and
vega-embed inlined, so `dvc plots show` / `dvc plots diff` render with no network.

DVC's default page loads the three libraries from a CDN; offline every data plot is a
blank box. `.dvc/config` points `plots.html_template` at this file (path relative to
.dvc/). The template deliberately has no `{scripts}` placeholder, so DVC never adds the
CDN <script> tags. The file is committed; run this only to change the library versions:

    python scripts/vega_template.py            # npm pack from the npm registry
    python scripts/vega_template.py --from DIR # DIR holds the three *.tgz files
"""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".dvc" / "plots_offline.html"
# Majors DVC's specs are written for (vega-lite v5 schema); npm picks the newest of each.
PACKAGES = {"vega": ("5", "vega.min.js"), "vega-lite": ("5", "vega-lite.min.js"),
            "vega-embed": ("6", "vega-embed.min.js")}

PAGE = """<!DOCTYPE html>
<!-- Offline DVC plots page: {versions}, inlined by scripts/vega_template.py. -->
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
{scripts}
    <style>
        body {{ font-family: system-ui, sans-serif; }}
        table {{ border-spacing: 15px; }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def fetch(folder: Path) -> list[Path]:
    specs = [f"{name}@{major}" for name, (major, _) in PACKAGES.items()]
    subprocess.run(["npm", "pack", "--silent", *specs], cwd=folder, check=True, capture_output=True)
    return sorted(folder.glob("*.tgz"))


def build(tarballs: list[Path]) -> str:
    scripts, versions = [], []
    for name, (_, js) in PACKAGES.items():
        tgz = next(t for t in tarballs if t.name.rsplit("-", 1)[0] == name)
        with tarfile.open(tgz) as tar:
            code = tar.extractfile(f"package/build/{js}").read().decode()
        if "</script" in code:
            raise SystemExit(f"{js} contains '</script': cannot inline it")
        versions.append(tgz.stem)
        scripts.append(f"    <script>/* {tgz.stem} */\n{code}\n    </script>")
    return PAGE.format(versions=", ".join(versions), scripts="\n".join(scripts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", type=Path, help="folder with the npm tarballs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarballs = sorted(args.src.glob("*.tgz")) if args.src else fetch(Path(tmp))
        OUT.write_text(build(tarballs))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
