"""Loading pickles from data files without letting them run code (DESIGN.md §4: data is data).

A pickle names callables (`GLOBAL module name`) that the loader imports and calls, so plain
`pickle.load` on a crafted file runs anything (`posix.system`, `builtins.exec`). This
unpickler resolves only an allowlist; any other global stops the load with a DataError that
names the file and the refused global, before anything is called.

`NUMPY_ARRAYS` is what numpy arrays in dicts/lists need (the CIFAR-10 python batches):
py2 pickles (numpy 1.x) name `numpy.core.multiarray._reconstruct`, numpy 2 writes
`numpy._core…`; py3 protocol-2 pickles spell bytes as `_codecs.encode(str, 'latin1')`.
Dicts, lists, str, int and float are pickle opcodes, not globals, so need no entry.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from ..core.errors import DataError

NUMPY_ARRAYS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
})

# What a malformed (truncated, garbled, wrongly shaped) stream raises inside pickle/numpy.
_BAD_STREAM = (pickle.UnpicklingError, EOFError, ValueError, TypeError)


class _Refused(pickle.UnpicklingError):
    """A global outside the allowlist; `load` turns it into a DataError naming the file."""


def _latin1_only(obj, encoding="utf-8", errors="strict"):
    # _codecs.encode with any codec name would reach e.g. zlib/bz2 codecs; bytes need latin1 only
    if encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode with encoding {encoding!r}")
    return obj.encode("latin1", errors)


class RestrictedUnpickler(pickle.Unpickler):
    """A pickle.Unpickler whose find_class resolves only `allowed` (module, name) pairs."""

    def __init__(self, file, *, allowed: frozenset[tuple[str, str]] = NUMPY_ARRAYS, **kwargs):
        super().__init__(file, **kwargs)
        self.allowed = allowed

    def find_class(self, module: str, name: str):
        if (module, name) not in self.allowed:
            raise _Refused(f"global '{module}.{name}'")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_only
        return super().find_class(module, name)


def load(path: str | Path, *, what: str, allowed: frozenset[tuple[str, str]] = NUMPY_ARRAYS,
         encoding: str = "latin1"):
    """Unpickle `path`; `what` names the expected content in the error (e.g. 'CIFAR-10 batch').

    encoding='latin1' reads py2 str as the raw bytes numpy arrays were saved from."""
    data = Path(path).read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), allowed=allowed, encoding=encoding).load()
    except _Refused as err:
        raise DataError(f"{path}: refused to load {err} from a pickle; "
                        f"this is not a genuine {what}") from None
    except _BAD_STREAM as err:
        raise DataError(f"{path}: not a readable {what} ({type(err).__name__}: {err})") from None
