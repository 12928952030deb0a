"""Benign round trips through the safe pickle, dill and cloudpickle loaders, and refusal of their payloads."""

from __future__ import annotations

import collections
import datetime
import decimal
import io
import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import cloudpickle
import dill
import numpy as np
import pytest

import safeload
from tests.builders import call_pickle
from tests.conftest import Marker

BENIGN = {
    "ints": [0, 1, -1, 2**31, 2**70, -(2**70)],
    "floats": [0.5, float("inf"), -0.0],
    "text": ["", "ascii", "ünïcødé", "x" * 300],
    "bytes": [b"", b"\x00\xff", bytes(300), bytearray(b"ab")],
    "containers": ((1, 2), frozenset({1, 2}), {3, 4}, {"nested": {"a": [1, (2, 3)]}}),
    "stdlib": [collections.OrderedDict(a=1), collections.Counter("aab"), collections.defaultdict(list),
               collections.deque([1, 2]), datetime.datetime(2026, 1, 2, 3, 4, 5), datetime.timedelta(days=3),
               decimal.Decimal("1.25"), uuid.UUID(int=7), complex(1, 2), range(3), slice(1, 5, 2), None, True],
    "numpy": [np.arange(12, dtype=np.float32).reshape(3, 4), np.float64(3.5), np.int8(-3), np.dtype("<i4"),
              np.array(["a", "bc"]), np.random.default_rng(0), np.random.RandomState(1)],
    "shared": None,
}
shared = [1, 2]
BENIGN["shared"] = [shared, shared]


def _same(a: object, b: object) -> bool:
    return pickle.dumps(a, protocol=4) == pickle.dumps(b, protocol=4) or repr(a) == repr(b)


@pytest.mark.parametrize("protocol", range(6))
def test_benign_pickle_round_trip_every_protocol(protocol: int) -> None:
    for key, value in BENIGN.items():
        data = pickle.dumps(value, protocol=protocol)
        result = safeload.scan(data)
        assert result.is_safe(), f"{key}: {result.summary('low')}"
        assert _same(safeload.pickle_loads(data), pickle.loads(data)), key


def test_pickle_load_keeps_file_position_and_loads_several_objects(tmp_path: Path) -> None:
    path = tmp_path / "many.pkl"
    with open(path, "wb") as handle:
        for i in range(3):
            pickle.dump({"i": i}, handle)
    with open(path, "rb") as handle:
        assert [safeload.pickle_load(handle) for _ in range(3)] == [{"i": 0}, {"i": 1}, {"i": 2}]
        with pytest.raises(EOFError):
            pickle.load(handle)


def test_pickle_load_from_bytesio_and_nonseekable_pipe() -> None:
    data = pickle.dumps([1, "two"])
    assert safeload.pickle_load(io.BytesIO(data)) == [1, "two"]
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        assert safeload.pickle_load(pipe) == [1, "two"]


def test_pickle_load_refuses_malicious_file(tmp_path: Path, marker: Marker) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (marker.shell,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    with open(path, "rb") as handle, pytest.raises(safeload.UnsafePickleError) as info:
        safeload.pickle_load(handle)
    text = str(info.value)
    assert "os.system" in text or "posix.system" in text
    assert "cannot be trusted" in text
    assert info.value.result.max_severity == safeload.Severity.CRITICAL
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_dill_plain_data_is_safe_and_functions_are_critical(protocol: int, marker: Marker) -> None:
    data = dill.dumps({"a": [1, 2], "b": np.ones(3)}, protocol=protocol)
    assert safeload.scan(data).is_safe()
    loaded = safeload.dill_loads(data)
    assert loaded["a"] == [1, 2]
    np.testing.assert_array_equal(loaded["b"], np.ones(3))

    def payload() -> None:  # never called: the load is refused first
        os.system(marker.shell)

    evil = dill.dumps(payload, protocol=protocol, recurse=True)
    result = safeload.scan(evil)
    assert result.max_severity == safeload.Severity.CRITICAL
    assert any(f.rule_id == "SL106" for f in result.findings), result.summary("info")
    with pytest.raises(safeload.UnsafeModelError):
        safeload.dill_loads(evil)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.dill_load(io.BytesIO(evil))
    assert not marker.exists()


def test_cloudpickle_plain_data_is_safe_and_lambdas_are_critical(marker: Marker) -> None:
    data = cloudpickle.dumps({"w": np.zeros((2, 2)), "name": "m"})
    assert safeload.cloudpickle_loads(data)["name"] == "m"
    assert safeload.cloudpickle_load(io.BytesIO(data))["name"] == "m"
    path = str(marker.path)
    evil = cloudpickle.dumps(lambda: open(path, "w").write("x"))
    result = safeload.scan(evil)
    assert result.max_severity == safeload.Severity.CRITICAL
    with pytest.raises(safeload.UnsafeModelError):
        safeload.cloudpickle_loads(evil)
    assert not marker.exists()


class UserModel:
    def __init__(self) -> None:
        self.w = [1.0, 2.0]


def test_user_class_needs_trust_and_message_says_how() -> None:
    data = pickle.dumps(UserModel())
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.pickle_loads(data)
    name = f"{__name__}.UserModel"
    assert f"trusted=['{name}']" in str(info.value)
    assert info.value.result.untrusted() == [name]
    assert safeload.pickle_loads(data, trusted=[name]).w == [1.0, 2.0]
    assert safeload.pickle_loads(data, trusted=[f"{__name__.rsplit('.', 1)[0]}.*"]).w == [1.0, 2.0]
    with safeload.trusted([name]):
        assert safeload.pickle_loads(data).w == [1.0, 2.0]
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert safeload.pickle_loads(data, threshold="high").w == [1.0, 2.0]


def test_scanning_never_imports_modules_named_in_the_pickle(tmp_path: Path) -> None:
    code = (
        "import sys, safeload\n"
        "from tests.builders import call_pickle, P\n"
        "data = call_pickle('safeload_never_imported_pkg', 'boom', 'x') + "
        "P().stack_global('xml.dom.minidom', 'parseString').args('<a/>').reduce().stop().done()\n"
        "before = set(sys.modules)\n"
        "result = safeload.scan(data)\n"
        "assert not result.is_safe()\n"
        "new = set(sys.modules) - before\n"
        "assert 'safeload_never_imported_pkg' not in new and 'xml.dom.minidom' not in new, new\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_a_wrapper_is_scanned_as_it_reads_not_through_its_descriptor(tmp_path: Path) -> None:
    # gzip.GzipFile.fileno() is the compressed file's descriptor: mapping it would scan other bytes than
    # pickle.load reads (the decompressed stream). The wrapper must be read, and the payload found.
    import gzip
    import os as _os

    path = tmp_path / "x.pkl.gz"
    with gzip.open(path, "wb") as out:
        out.write(pickle.dumps(_os.system))
    with gzip.open(path, "rb") as handle, pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(handle)
    with gzip.open(path, "rb") as handle:
        assert any(f.subject == "posix.system" for f in safeload.scan(handle).findings)


def test_a_refused_bytesio_can_still_be_closed() -> None:
    import io as _io
    import os as _os

    buffer = _io.BytesIO(pickle.dumps(_os.system))
    try:
        safeload.pickle_load(buffer)
    except safeload.UnsafeModelError as exc:
        err = exc  # keep the traceback (and its frames) alive, as a caller logging it would
    buffer.close()  # no BufferError: every view of the buffer was released
    assert err is not None


def test_a_wrapper_whose_descriptor_names_other_bytes_is_read_not_mapped(tmp_path: Path, marker: Any) -> None:
    # A file-like object whose fileno() is a benign file but whose read() serves a payload: mapping the
    # descriptor would scan the benign bytes while pickle.load runs the payload.
    import io as _io

    benign = tmp_path / "benign.pkl"
    benign.write_bytes(pickle.dumps({"ok": 1}))
    payload = call_pickle("os", "system", marker.shell)

    class Lying(_io.RawIOBase):
        def __init__(self) -> None:
            super().__init__()
            self._inner = _io.BytesIO(payload)
            self._benign = open(benign, "rb")

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return self._inner.seek(offset, whence)

        def tell(self) -> int:
            return self._inner.tell()

        def fileno(self) -> int:
            return self._benign.fileno()

        def readinto(self, buffer: Any) -> int:
            data = self._inner.read(len(buffer))
            buffer[:len(data)] = data
            return len(data)

        def close(self) -> None:
            self._benign.close()
            super().close()

    with Lying() as handle, pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_load(handle)
    assert not marker.exists()
