"""Which files of src/aelab a stage script can execute: the transitive closure of its
imports, module-level and inside functions (lazy imports run too).

Used by tests/test_dvc_yaml.py (every stage's deps cover its closure) and by
aelab.dvcstages (the generated study stages list exactly their closure). The generic study
script (`stages/study.py <study> …`) runs the registered study's function, so its closure
is the script's plus that function's (stage_closure).

Three rules keep it from being "everything" while staying on the safe side:
- the stage script's entry (`from aelab.stage_fns import train`) contributes its module's
  top-level imports plus the imports inside that function and the same-module functions it
  calls, not those of the module's other stages;
- a package imported only as the parent of a submodule (aelab.tasks for aelab.tasks.config)
  contributes its __init__'s top-level imports;
- a registry package resolved by name at run time (MODELS, TASKS: importlib on a string)
  counts as a whole when it is itself imported.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
WHOLE_PACKAGES = ("aelab.models", "aelab.tasks")
STUDY_CONFIGS = "aelab.studies.config"  # imports each registered study's params type by name
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


@lru_cache(maxsize=None)
def module_file(name: str) -> Path | None:
    p = SRC / Path(*name.split("."))
    if (p / "__init__.py").exists():
        return p / "__init__.py"
    return p.with_suffix(".py") if p.with_suffix(".py").exists() else None


def _package(mod: str) -> str:
    return mod if module_file(mod).name == "__init__.py" else mod.rsplit(".", 1)[0]


def _names(node, package: str) -> set[str]:
    """aelab modules one import statement names (`from x import y` also names x.y if a module)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.split(".")[0] == "aelab"}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        parts = package.split(".")
        mod = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if mod.split(".")[0] != "aelab":
        return set()
    return {mod} | {f"{mod}.{a.name}" for a in node.names if module_file(f"{mod}.{a.name}")}


def _imports(nodes, package: str) -> set[str]:
    return {m for top in nodes for node in ast.walk(top) for m in _names(node, package)}


@lru_cache(maxsize=None)  # every stage's closure walks the same modules
def _tree(mod: str) -> ast.Module:
    return ast.parse(module_file(mod).read_text())


def _entry(mod: str, names: set[str]) -> set[str]:
    tree = _tree(mod)
    funcs = {n.name: n for n in tree.body if isinstance(n, FUNCS)}
    used, todo = set(), [n for n in names if n in funcs]
    while todo:
        f = todo.pop()
        if f not in used:
            used.add(f)
            todo += [c.func.id for c in ast.walk(funcs[f]) if isinstance(c, ast.Call)
                     and isinstance(c.func, ast.Name) and c.func.id in funcs]
    top = [n for n in tree.body if not isinstance(n, FUNCS)]
    return _imports(top + [funcs[f] for f in used], _package(mod))


@lru_cache(maxsize=None)
def _module_imports(mod: str, full: bool) -> frozenset[str]:
    """aelab modules `mod` imports: anywhere in it (full), or at its top level only."""
    tree = _tree(mod)
    nodes = [tree] if full else [n for n in tree.body if not isinstance(n, FUNCS)]
    return frozenset(_imports(nodes, _package(mod)))


def closure(script: Path) -> set[Path]:
    """Files under src/aelab that `script` may run, relative to the repo root."""
    return closure_of(script.read_text())


def closure_of(source: str) -> set[Path]:
    """Files under src/aelab that a script with this source may run."""
    todo: list[tuple[str, str]] = []  # (module, "full" | "parent")
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and module_file(node.module or "_"):
            names = {a.name for a in node.names}
            todo += [("entry:" + node.module, "parent")]
            todo += [(m, "full") for m in _entry(node.module, names)]
            todo += [(f"{node.module}.{n}", "full") for n in names if module_file(f"{node.module}.{n}")]
    seen: dict[str, str] = {}
    while todo:
        mod, mode = todo.pop()
        if mod.startswith("entry:"):
            mod = mod.removeprefix("entry:")
            seen.setdefault(mod, "entry")
        elif module_file(mod) is None or seen.get(mod) == "full" or (mode == "parent" and mod in seen):
            continue
        else:
            seen[mod] = mode
            todo += [(m, "full") for m in _module_imports(mod, mode == "full")]
            if mode == "full" and mod == STUDY_CONFIGS:  # builds StudiesParams from the registry
                todo += [(m, "full") for m in registered_config_modules()]
            if mode == "full" and mod in WHOLE_PACKAGES:
                folder = module_file(mod).parent
                todo += [(f"{mod}.{p.stem}", "full") for p in folder.glob("*.py") if p.stem != "__init__"]
        parts = mod.split(".")
        todo += [(".".join(parts[:i]), "parent") for i in range(1, len(parts))]
    return {module_file(m).relative_to(ROOT) for m in seen}


def registered_config_modules() -> set[str]:
    from aelab.studies.registry import STUDIES

    return {s.config.split(":")[0] for s in STUDIES.values()}


def covered(path: Path, deps: set[Path]) -> bool:
    return any(path == d or d in path.parents for d in deps)


SUBPACKAGES = ("core", "data", "models", "tasks", "studies", "report")


def compact(need: set[Path]) -> list[str]:
    """Dep entries covering `need`: a subpackage folder when every file of it is needed."""
    need, out = set(need), []
    for sub in SUBPACKAGES:
        folder = Path("src/aelab") / sub
        files = {p.relative_to(ROOT) for p in (ROOT / folder).glob("*.py")}
        if files and files <= need:
            out.append(str(folder))
            need -= files
    return out + sorted(str(p) for p in need)


def stage_script(cmd: str) -> Path:
    return ROOT / cmd.split()[1]  # "python stages/<x>.py ..."


STUDY_SCRIPT = "stages/study.py"


def study_closure(name: str) -> set[Path]:
    """The closure of `python stages/study.py <name> …`: the script, then the study's run."""
    from aelab.studies.registry import study

    module, attr = study(name).run.split(":")
    return closure_of((ROOT / STUDY_SCRIPT).read_text() + f"\nfrom {module} import {attr}\n")


def stage_closure(cmd: str) -> set[Path]:
    """The closure of a stage command "python stages/<x>.py [args]"."""
    words = cmd.split()
    if words[1] == STUDY_SCRIPT:
        return study_closure(words[2])
    return closure(ROOT / words[1])


def print_deps(path: Path = ROOT / "dvc.yaml") -> None:
    """Print each stage's src/aelab dep list (paste it into dvc.yaml after an import changes)."""
    import yaml

    for name, stage in yaml.safe_load(path.read_text())["stages"].items():
        body = stage.get("do", stage)
        print(f"{name}:\n" + "\n".join(f"  - {d}" for d in compact(stage_closure(body["cmd"]))))


if __name__ == "__main__":  # python -m aelab.importgraph
    print_deps()
