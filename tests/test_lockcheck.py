"""A torn dvc.lock (DVC writes it in place) is restored from git before `dvc repro`."""

from __future__ import annotations

import subprocess

import pytest

from aelab.lockcheck import problem, restore

GOOD = "schema: '2.0'\nstages:\n  train@x:\n    cmd: python stages/train.py x\n"


def _repo(tmp_path):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    lock = tmp_path / "dvc.lock"
    lock.write_text(GOOD)
    for cmd in (["git", "init", "-q"], ["git", "add", "dvc.lock"], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    return lock


@pytest.mark.parametrize("torn", ["", "schema: '2.0'\nstages:\n  train@x:\n    cmd: [unclosed", "just text\n"])
def test_an_empty_truncated_or_foreign_lock_is_restored_from_git(tmp_path, torn):
    lock = _repo(tmp_path)
    lock.write_text(torn)
    message = restore(lock)
    assert "restored the committed copy" in message and "\n" not in message
    assert lock.read_text() == GOOD


def test_a_good_lock_is_left_alone(tmp_path):
    lock = _repo(tmp_path)
    lock.write_text(GOOD + "  evaluate@x:\n    cmd: python stages/evaluate.py x\n")  # newer than git's
    assert restore(lock) == "" and "evaluate@x" in lock.read_text()
    assert problem(GOOD) == ""


def test_a_torn_lock_without_a_git_copy_stops_with_advice(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text("")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    with pytest.raises(SystemExit, match="is empty, and git has no good copy"):
        restore(lock)
