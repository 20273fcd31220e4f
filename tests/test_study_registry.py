"""The study registry: a new study is one module, one params entry and one registry line.

The end-to-end test works on a copy of the package (nothing is patched in this process):
it writes a toy study module, appends its registry line, adds its params entry, then runs
the generic stage script and the dvc.yaml generator on the copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aelab.core.config import parse
from aelab.core.errors import ConfigError
from aelab.studies.config import StudiesParams, studies_dataclass
from aelab.studies.registry import STUDIES, study

ROOT = Path(__file__).resolve().parents[1]

TOY_MODULE = '''
from dataclasses import dataclass

from aelab.core.config import spec
from aelab.studies.common import study_entry, write_study


@dataclass(frozen=True)
class ToyParams:
    scale: float = spec(1.0, gt=0)


def study_toy(params, name):
    entry, _ = study_entry(params, "toy", name)
    return write_study(f"toy_{name}", {"answer": entry.scale * 2}, {})
'''
TOY_LINE = ('STUDIES["toy"] = Study("study_toy", "aelab.studies.toy:study_toy", '
            '"aelab.studies.toy:ToyParams", doc="a toy study")\n')


@pytest.fixture(scope="module")
def toy_project(tmp_path_factory):
    """A copy of the project's package and stage script with the toy study added."""
    root = tmp_path_factory.mktemp("toy")
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "stages").mkdir()
    shutil.copy(ROOT / "stages/study.py", root / "stages/study.py")
    studies = root / "src/aelab/studies"
    (studies / "toy.py").write_text(TOY_MODULE)  # 1. the module
    with open(studies / "registry.py", "a") as f:  # 2. the registry line
        f.write(TOY_LINE)
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["studies"]["toy"] = {"a": {"scale": 3.0}}  # 3. the params entry
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(root / "src"), "PATH": str(Path(sys.executable).parent), "AELAB_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_new_study_runs_through_the_generic_stage(toy_project):
    done = _run(toy_project, "stages/study.py", "toy", "a")
    assert done.returncode == 0, done.stderr
    assert json.loads((toy_project / "metrics/studies/toy_a.json").read_text()) == {"answer": 6.0}
    assert (toy_project / "plots/studies/toy_a").is_dir()
    assert (toy_project / "timing/study_toy@a.json").exists()


def test_a_new_study_gets_its_dvc_stage(toy_project):
    done = _run(toy_project, "-m", "aelab.dvcstages")
    assert done.returncode == 0, done.stderr
    block = yaml.safe_load("stages:\n" + done.stdout)["stages"]
    toy = block["study_toy"]
    assert toy["foreach"] == "${studies.toy}"
    assert toy["do"]["cmd"] == "python stages/study.py toy ${key}"
    assert "src/aelab/studies/toy.py" in toy["do"]["deps"]
    assert "src/aelab/studies/rbm.py" not in toy["do"]["deps"]  # only what it imports
    assert toy["do"]["params"] == ["studies.toy.${key}"]
    assert list(toy["do"]["outs"][0]) == ["metrics/studies/toy_${key}.json"]


def test_a_new_studys_params_are_validated_with_the_dotted_key(toy_project):
    raw = yaml.safe_load((toy_project / "params.yaml").read_text())
    raw["studies"]["toy"]["a"]["scale"] = -1
    (toy_project / "bad.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = _run(toy_project, "stages/study.py", "toy", "a", "--params", "bad.yaml")
    assert done.returncode == 2
    assert "studies.toy.a.scale: must be > 0, got -1" in done.stderr


def test_the_generic_stage_lists_the_registered_studies_for_an_unknown_one():
    done = subprocess.run([sys.executable, str(ROOT / "stages/study.py"), "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "unknown study 'nope'" in done.stderr and "rbm" in done.stderr and "tune" in done.stderr


def test_studies_params_has_one_field_per_registered_study():
    assert [f for f in StudiesParams.__dataclass_fields__] == ["threads", *STUDIES]
    s = parse(studies_dataclass(), {}, "studies")
    assert s.rbm == {} and s.digits.variants  # keyed: no entries; single: the defaults
    with pytest.raises(ConfigError, match=r"studies\.nope: unknown key"):
        parse(StudiesParams, {"nope": {}}, "studies")
    with pytest.raises(ConfigError, match="unknown study 'nope'; registered: "):
        study("nope")


def test_registry_imports_no_study_code():
    """A stage loads only the study it runs: the registry names functions by string."""
    code = ("import sys, aelab.studies.registry as r; "
            "print(sorted(m for m in sys.modules if m.startswith('aelab.studies.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert eval(done.stdout) == ["aelab.studies.registry"]
