"""No code from data: CIFAR-10 batches go through a restricted unpickler (aelab.data.safe_pickle).

Genuine batches (the fixture's py3 protocol-2 ones and a hand-written py2 stream like the
official archive's) load; a crafted batch whose __reduce__ names os.system or builtins.exec
makes preprocess fail with one line naming the file and the global, and runs nothing.
"""

from __future__ import annotations

import builtins
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from aelab.core.config import parse
from aelab.data import contract, safe_pickle, sources
from aelab.data.registry import DATASETS
from aelab.core.errors import DataError
from aelab.core.params import user_errors
from fixtures_images import cifar_arrays, make_cifar_tar


def _cifar_folder(tmp_path: Path) -> Path:
    """The fixture's archive extracted, as a user's cifar-10-batches-py folder."""
    tar = make_cifar_tar(tmp_path / "c.tar.gz", cifar_arrays(2))
    sources.extract(tar, sources.list_members(tar), tmp_path / "src")
    return tmp_path / "src" / "cifar-10-batches-py"


def _download_and_preprocess(src: Path, raw: Path):
    spec = DATASETS["cifar10"]
    cfg = parse(spec.config, {"source": str(src), "download": False}, "data.cifar10")
    raw.mkdir()
    spec.download(cfg, raw)
    return spec.preprocess(cfg, raw)


def _py2_batch(data: np.ndarray, labels: list[int]) -> bytes:
    """A dict pickled as Python 2 cPickle with numpy 1.x did for the official batches: str
    keys/bytes as SHORT_BINSTRING, arrays via numpy.core.multiarray._reconstruct."""
    def s(b: bytes) -> bytes:
        return pickle.SHORT_BINSTRING + bytes([len(b)]) + b

    def i(v: int) -> bytes:
        return pickle.BININT1 + bytes([v])

    raw = data.tobytes()
    dtype = (b"cnumpy\ndtype\n" + s(b"u1") + i(0) + i(1) + pickle.TUPLE3 + pickle.REDUCE
             + pickle.MARK + i(3) + s(b"|") + pickle.NONE * 3 + pickle.BININT + struct.pack("<i", -1)
             + pickle.BININT + struct.pack("<i", -1) + i(0) + pickle.TUPLE + pickle.BUILD)
    array = (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\n" + i(0) + pickle.TUPLE1
             + s(b"b") + pickle.TUPLE3 + pickle.REDUCE
             + pickle.MARK + i(1) + i(data.shape[0]) + pickle.BININT2 + struct.pack("<H", data.shape[1])
             + pickle.TUPLE2 + dtype + pickle.NEWFALSE
             + pickle.BINSTRING + struct.pack("<i", len(raw)) + raw + pickle.TUPLE + pickle.BUILD)
    items = (s(b"data") + array + s(b"labels") + pickle.EMPTY_LIST + pickle.MARK
             + b"".join(i(v) for v in labels) + pickle.APPENDS)
    return pickle.PROTO + b"\x02" + pickle.EMPTY_DICT + pickle.MARK + items + pickle.SETITEMS + pickle.STOP


class _Calls:
    """Unpickling this calls fn(*args): what a crafted batch would do."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def test_fixture_style_batch_with_bytes_keys_arrays_and_lists_loads(tmp_path):
    d = safe_pickle.load(_cifar_folder(tmp_path) / "data_batch_1", what="CIFAR-10 batch")
    data, labels = cifar_arrays(2)["data_batch_1"]
    assert np.array_equal(d[b"data"], data) and d[b"labels"] == labels
    assert d[b"filenames"] == [b"x.png", b"x.png"]


def test_py2_pickle_as_in_the_official_archive_loads(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)
    path = tmp_path / "data_batch_1"
    path.write_bytes(_py2_batch(data, [3, 7]))
    d = safe_pickle.load(path, what="CIFAR-10 batch")
    assert np.array_equal(d["data"], data) and d["labels"] == [3, 7]  # latin1: py2 str keys → str


def test_genuine_batches_still_preprocess(tmp_path):
    p = _download_and_preprocess(_cifar_folder(tmp_path), tmp_path / "raw")
    contract.check_contract(p)
    assert p.x_train.shape == (10, 3, 32, 32)


# protocol 2 spells builtins the py2 way; the message names the global as the file does
@pytest.mark.parametrize("fn, glob", [(os.system, f"{os.system.__module__}.system"),
                                      (builtins.exec, "__builtin__.exec")], ids=["os.system", "exec"])
def test_crafted_batch_fails_preprocess_in_one_line_naming_file_and_global_and_runs_nothing(
        tmp_path, capsys, fn, glob):
    marker = tmp_path / "pwned"
    payload = f"touch {marker}" if fn is os.system else f"open({str(marker)!r}, 'w').close()"
    src = _cifar_folder(tmp_path)
    (src / "data_batch_1").write_bytes(pickle.dumps({b"data": _Calls(fn, payload)}, protocol=2))
    with pytest.raises(SystemExit) as exit_, user_errors("preprocess@cifar10"):
        _download_and_preprocess(src, tmp_path / "raw")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"raw/cifar-10-batches-py/data_batch_1: refused to load global '{glob}'" in err
    assert "not a genuine CIFAR-10 batch" in err
    assert not marker.exists()


def test_codecs_encode_is_admitted_only_for_latin1_bytes(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps(_Calls(__import__("_codecs").encode, "x" * 100, "zlib"), protocol=2))
    with pytest.raises(DataError, match="_codecs.encode with encoding 'zlib'"):
        safe_pickle.load(path, what="CIFAR-10 batch")


def test_truncated_batch_is_a_data_error_naming_the_file(tmp_path):
    path = _cifar_folder(tmp_path) / "test_batch"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=f"{path}: not a readable CIFAR-10 batch"):
        safe_pickle.load(path, what="CIFAR-10 batch")
