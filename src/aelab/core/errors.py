"""Error types that stages turn into one clear message and a non-zero exit."""

from __future__ import annotations


class AelabError(Exception):
    """Base class: the message is meant for the user, not a traceback."""

    exit_code = 1


class ConfigError(AelabError):
    """A bad value in params.yaml; `key` is the dotted path of the offending entry."""

    exit_code = 2

    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}" if key else message)


class DataUnavailable(AelabError):
    """No source could provide a dataset; the message lists what was tried."""


class DataError(AelabError):
    """A data file is malformed or hostile (e.g. a pickle naming code); the message names it."""


class CorruptArtefact(DataError):
    """A file a stage wrote is unreadable (truncated, empty, garbage, stale); the message
    names it and the `dvc repro` command that rebuilds it."""

    def __init__(self, path, problem: str, rebuild: str):
        self.path, self.problem, self.rebuild = str(path), problem, rebuild
        super().__init__(f"{path}: {problem}; rebuild it with `{rebuild}`")


class TrainingDiverged(AelabError):
    """A loss became NaN/inf or exploded; the message names stage, epoch, batch and loss term."""
