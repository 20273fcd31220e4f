"""Guard against a torn dvc.lock before `dvc repro` (scripts/repro.sh runs this first).

DVC writes dvc.lock in place, not atomically (about 0.4 s for this project's lock): a kill
during the write leaves an empty or truncated file, which the next `dvc repro` would treat
as "nothing ran" — or worse, autostage into git. When the lock is empty or not a valid
DVC lock and git has a committed copy, the committed one is restored with one message;
stages whose outputs no longer match it then simply rerun.

    python -m aelab.lockcheck [dvc.lock]     # exit 0: fine or restored; 1: broken, no git copy
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


def problem(text: str) -> str:
    """'' when `text` is a plausible DVC lock file, else what is wrong with it."""
    if not text.strip():
        return "is empty"
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # C: 0.1 s, not 0.7
    except yaml.YAMLError as err:
        return f"is not valid YAML ({str(err).splitlines()[0]})"
    if not isinstance(doc, dict) or "schema" not in doc or not isinstance(doc.get("stages"), dict):
        return "is not a DVC lock file (no schema/stages)"
    return ""


def restore(path: Path) -> str:
    """Check `path`; restore it from git's HEAD when broken. Returns the message to print."""
    if not path.exists():
        return ""
    what = problem(path.read_text(errors="replace"))
    if not what:
        return ""
    committed = subprocess.run(["git", "show", f"HEAD:./{path.name}"], cwd=path.parent or ".",
                               capture_output=True, text=True)
    if committed.returncode != 0 or problem(committed.stdout):
        raise SystemExit(f"error: {path} {what}, and git has no good copy to restore; "
                         f"delete it and run `dvc repro` (every stage reruns)")
    path.write_text(committed.stdout)
    return f"{path} {what} (a run killed while DVC wrote it?): restored the committed copy from git"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    message = restore(Path(args[0] if args else "dvc.lock"))
    if message:
        print(f"lockcheck: {message}")


if __name__ == "__main__":
    main()
