"""polars 2.1.0 ``DataFrame``/``Series`` pickles: NEWOBJ of the class, then BUILD with the bytes of an Arrow IPC
stream that the compiled reader loads. The reviewed entries (``catalog/reviewed.py``) admit BUILD only under the
``polars_ipc`` contract (``catalog/state_contracts.py``, reader ``catalog/arrow_ipc.py``): a bytes state holding only
the Arrow types and metadata keys polars writes. An Arrow extension type is refused: when its name is registered in
the process, polars calls the registered Python class at load (shown live below), and Object columns travel as one.
``LazyFrame`` (a serialized plan that may carry pickled Python UDFs) stays refused.

Real polars throughout; every hostile file carries a harmless marker payload that must not run."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import pickle
import random
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.arrow_ipc import IpcRefusedError, check_stream
from safeload.catalog.decide import reviewed_files_hold
from safeload.catalog.entries import lookup
from safeload.catalog.reviewed import POLARS_IPC_KEYS, POLARS_REVIEWED_FILES
from safeload.exceptions import UnsafeModelError

pl = pytest.importorskip("polars")

ROOT = Path(__file__).resolve().parents[1]
FRAME = b"polars.dataframe.frame\nDataFrame\n"
SERIES = b"polars.series.series\nSeries\n"
SCHEMA_KEYS = frozenset(k[7:] for k in POLARS_IPC_KEYS if k.startswith("schema:"))
FIELD_KEYS = frozenset(k[6:] for k in POLARS_IPC_KEYS if k.startswith("field:"))


def _frame() -> Any:
    return pl.DataFrame({
        "i8": pl.Series([1, None], dtype=pl.Int8), "u64": pl.Series([1, 2], dtype=pl.UInt64),
        "i128": pl.Series([1, -1], dtype=pl.Int128), "f32": pl.Series([1.5, None], dtype=pl.Float32),
        "b": [True, None], "s": ["x", None], "bin": [b"x", b""], "n": pl.Series([None, None], dtype=pl.Null),
        "d": [dt.date(2020, 1, 1), None], "dt": [dt.datetime(2020, 1, 1), None],
        "dtz": pl.Series([dt.datetime(2020, 1, 1), None]).dt.replace_time_zone("Europe/Paris"),
        "dur": [dt.timedelta(1), None], "t": [dt.time(1), None], "dec": [decimal.Decimal("1.5"), None],
        "cat": pl.Series(["a", None], dtype=pl.Categorical), "enum": pl.Series(["a", "b"], dtype=pl.Enum(["a", "b"])),
        "lst": [[1, 2], None], "arr": pl.Series([[1, 2], None], dtype=pl.Array(pl.Int64, 2)),
        "st": [{"a": 1, "b": "x"}, None], "lcat": pl.Series([["a"], []], dtype=pl.List(pl.Categorical)),
    })


def _binbytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


def _built(cls: bytes, state: bytes) -> bytes:
    """protocol 2: ``cls`` via NEWOBJ with no arguments, then BUILD with the state opcodes ``state``."""
    return b"\x80\x02c" + cls + b")\x81" + state + b"b."


def _blocking(data: bytes) -> list[tuple[str, str]]:
    return [(f.rule_id, f.message) for f in safeload.scan(data).blocking()]


def _refused_by_contract(data: bytes, text: str = "") -> None:
    found = _blocking(data)
    assert any(rule == "SL115" and "'polars_ipc' contract" in message and text in message
               for rule, message in found), found
    with pytest.raises(UnsafeModelError):
        safeload.pickle_loads(data)


def _state(obj: Any) -> bytes:
    state = obj.__getstate__()
    assert type(state) is bytes
    return state


class Toucher:
    """A harmless payload: unpickling an instance creates ``path`` (Path.touch)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, frame: Any) -> Any:
        return frame

    def __reduce__(self) -> tuple[Any, ...]:
        return Path.touch, (self.path,)


# --- what polars writes loads -------------------------------------------------------------------------------
def test_the_review_is_bound_to_the_installed_files() -> None:
    assert reviewed_files_hold(POLARS_REVIEWED_FILES)
    for name in ("polars.dataframe.frame.DataFrame", "polars.series.series.Series"):
        entry = lookup(name)
        assert entry is not None and entry.build_state == ("polars_ipc", POLARS_IPC_KEYS)
    assert lookup("polars.lazyframe.frame.LazyFrame") is None


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_frames_and_series_polars_writes_load(protocol: int) -> None:
    frame = _frame()
    for obj in (frame, pl.DataFrame(), frame.clear(), *(frame[c] for c in frame.columns)):
        data = pickle.dumps(obj, protocol=protocol)
        assert _blocking(data) == [], (protocol, obj.dtypes if hasattr(obj, "dtypes") else obj.dtype)
        assert safeload.pickle_loads(data).equals(obj)


def test_a_large_frame_loads() -> None:
    """States above 64 KiB stay in the file's buffer during the scan (BigBytes); the contract reads them there."""
    big = pl.DataFrame({"a": range(300_000), "s": [str(i) for i in range(300_000)]})
    for protocol in (2, 4, 5):
        data = pickle.dumps(big, protocol=protocol)
        assert len(data) > 1 << 20
        assert _blocking(data) == []
        assert safeload.pickle_loads(data).equals(big)


def test_a_frame_inside_a_container_loads() -> None:
    frame = _frame()
    data = pickle.dumps({"train": frame, "target": frame["s"], "n": 3})
    loaded = safeload.pickle_loads(data)
    assert loaded["train"].equals(frame) and loaded["target"].equals(frame["s"])


# --- code polars would run ----------------------------------------------------------------------------------
_EXTENSION_SCRIPT = """
import pickle, sys
from pathlib import Path
import polars as pl
import safeload
marker = Path(sys.argv[1])

class Ext(pl.BaseExtension):
    def __init__(self):
        super().__init__("test.marker_ext", pl.Int64, None)

    @classmethod
    def ext_from_params(cls, ext_name, storage, metadata):
        marker.touch()  # the harmless payload: runs when polars builds the column
        return cls()

pl.register_extension_type("test.marker_ext", Ext)
frame = pl.DataFrame({"a": pl.Series([1, 2]).cast(Ext())})
marker.unlink(missing_ok=True)
results = []
for data in (pickle.dumps(frame), pickle.dumps(frame["a"])):
    try:
        safeload.pickle_loads(data)
        results.append("admitted")
    except safeload.UnsafeModelError as error:
        results.append("refused" if "ARROW:extension:name" in str(error) else f"refused otherwise: {error}")
    results.append(marker.exists())
pickle.loads(pickle.dumps(frame))  # the live twin: plain pickle runs the registered class
results.append(marker.exists())
print(results)
"""


def test_registered_extension_type_is_refused_and_its_class_does_not_run(tmp_path: Path) -> None:
    """Registration is process-global in polars: the check runs in a fresh interpreter."""
    marker = tmp_path / "ext_ran"
    out = subprocess.run([sys.executable, "-c", _EXTENSION_SCRIPT, str(marker)], capture_output=True, text=True,
                         cwd=tmp_path, check=True, timeout=120, env=_env())
    assert out.stdout.strip() == "['refused', False, 'refused', False, True]", out.stdout + out.stderr


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_object_column_extension_is_refused() -> None:
    """polars' Object columns travel as the POLARS_EXTENSION_TYPE extension (Python objects behind pointers)."""
    pa = pytest.importorskip("pyarrow")
    meta = {b"ARROW:extension:name": b"POLARS_EXTENSION_TYPE", b"ARROW:extension:metadata": b"1;1094795585"}
    field = pa.field("o", pa.binary(16), metadata=meta)
    table = pa.Table.from_arrays([pa.array([b"\0" * 16], pa.binary(16))], schema=pa.schema([field]))
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    for cls in (FRAME, SERIES):
        _refused_by_contract(_built(cls, _binbytes(sink.getvalue())), "ARROW:extension:name")
    with pytest.raises(Exception, match="Object"):  # polars itself never writes one
        pickle.dumps(pl.Series([object()], dtype=pl.Object))


@pytest.mark.parametrize("how", ["map_batches", "map_elements"])
def test_lazyframe_with_a_python_udf_is_refused_and_does_not_run(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "udf_ran"
    lazy = pl.LazyFrame({"a": [1, 2]})
    if how == "map_batches":
        lazy = lazy.map_batches(Toucher(marker))
    else:
        lazy = lazy.with_columns(pl.col("a").map_elements(Toucher(marker), return_dtype=pl.Int64))
    assert not marker.exists()
    data = pickle.dumps(lazy)
    found = [f for f in safeload.scan(data).blocking() if f.subject == "polars.lazyframe.frame.LazyFrame"]
    assert found and found[0].rule_id == "SL104", found
    with pytest.raises(UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()
    # the plan's bytes handed to a DataFrame or Series: not an IPC stream
    plan = _state(lazy)
    for cls in (FRAME, SERIES):
        _refused_by_contract(_built(cls, _binbytes(plan)), "not an Arrow IPC stream")
    assert not marker.exists()
    loaded = pickle.loads(data)  # the live twin: plain pickle unpickles the UDF inside the plan
    if how == "map_elements":  # an expression's UDF is unpickled when the plan is evaluated
        with contextlib.suppress(Exception):
            loaded.collect()
    assert marker.exists()


def test_lazyframe_without_udf_stays_refused() -> None:
    data = pickle.dumps(pl.LazyFrame({"a": [1]}).filter(pl.col("a") > 0))
    found = [f for f in safeload.scan(data).blocking() if f.subject == "polars.lazyframe.frame.LazyFrame"]
    assert found and found[0].rule_id == "SL104", found


# --- states that are not a literal stream -------------------------------------------------------------------
def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


@pytest.mark.parametrize(("state", "text"), [
    (_unicode("abc"), "not a literal bytes object"),
    (b"K\x07", "not a literal bytes object"),
    (b"}", "not a literal bytes object"),
    (_binbytes(b"\xff\xff\xff\xff") + b"\x85", "not a literal bytes object"),  # (bytes,)
    (b"cbuiltins\nbytearray\n" + _binbytes(b"\xff\xff\xff\xff") + b"\x85R", "not a literal bytes object"),
    (b"cbuiltins\nbytes\n" + _binbytes(b"\xff\xff\xff\xff") + b"\x85R", "not a literal bytes object"),
    (b"c_codecs\nencode\n" + _unicode("\xff\xff\xff\xff") + _unicode("utf-8") + b"\x86R",
     "not a literal bytes object"),
    (b"c_codecs\nencode\n" + _unicode("\u20ac") + _unicode("latin1") + b"\x86R", "not a literal bytes object"),
    (_binbytes(b""), "not an Arrow IPC stream"),
    (_binbytes(b"PAR1\0\0\0\0PAR1"), "not an Arrow IPC stream"),
    (_binbytes(b"\xff\xff\xff\xff\0\0\0\0"), "no schema"),
])
def test_states_that_are_not_a_stream_are_refused(state: bytes, text: str) -> None:
    for cls in (FRAME, SERIES):
        _refused_by_contract(_built(cls, state), text)


def test_protocol_2_bytes_are_read_as_the_load_decodes_them() -> None:
    state = _state(pl.DataFrame({"a": [1]}))
    encoded = b"c_codecs\nencode\n" + _unicode(state.decode("latin-1")) + _unicode("latin1") + b"\x86R"
    data = _built(FRAME, encoded)
    assert _blocking(data) == []
    assert safeload.pickle_loads(data).equals(pl.DataFrame({"a": [1]}))


def test_callables_in_state_are_refused_and_do_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "state_ran"
    touch = b"cpathlib\nPath.touch\ncpathlib\nPosixPath\n" + _unicode(str(marker)) + b"\x85R\x85R"
    for cls in (FRAME, SERIES):
        data = _built(cls, touch)
        assert _blocking(data)
        with pytest.raises(UnsafeModelError):
            safeload.pickle_loads(data)
    assert not marker.exists()


def test_the_class_called_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "called"
    for cls in (FRAME, SERIES):
        # cls({'a': [1]}) with plain data, and cls({'a': [Toucher]}): polars' __init__ converts the file's objects
        for item in (b"K\x01", pickle.dumps(Toucher(marker), 2)[2:-1]):
            data = b"\x80\x02c" + cls + b"}" + _unicode("a") + b"]" + item + b"as\x85R."
            found = _blocking(data)
            assert any(rule == "SL115" and "here it is called by the file" in message
                       for rule, message in found), found
            with pytest.raises(UnsafeModelError):
                safeload.pickle_loads(data)
    assert not marker.exists()


def test_a_subclass_or_another_polars_name_is_not_covered() -> None:
    state = _binbytes(_state(pl.DataFrame({"a": [1]})))
    for cls in (b"polars.lazyframe.frame\nLazyFrame\n", b"polars.dataframe.frame\nDataFrameX\n"):
        assert _blocking(_built(cls, state))


# --- hostile bytes: refused, never a crash or a hang --------------------------------------------------------
def test_truncated_states_are_refused() -> None:
    state = _state(_frame())
    for cut in (1, 4, 7, 8, 9, 50, 200, len(state) // 2, len(state) - 9, len(state) - 1):
        data = _built(FRAME, _binbytes(state[:cut]))
        found = _blocking(data)
        assert any(rule == "SL115" for rule, _ in found), (cut, found)
    # only the end-of-stream marker may go: the stream then ends after its last batch
    assert _blocking(_built(FRAME, _binbytes(state[:-8]))) == []


def test_bytes_after_the_stream_are_refused() -> None:
    _refused_by_contract(_built(FRAME, _binbytes(_state(pl.DataFrame({"a": [1]})) + b"\0")), "end-of-stream")


def test_compressed_batches_are_refused() -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"a": pa.array(range(100))})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    _refused_by_contract(_built(FRAME, _binbytes(sink.getvalue())), "compressed")


def test_mutated_states_never_crash_or_hang() -> None:
    base = _state(pl.DataFrame({"a": [1, 2], "s": ["x", None], "c": pl.Series(["a", "b"], dtype=pl.Categorical),
                                "l": [[{"x": 1}], []]}))
    rng = random.Random(20261129)  # noqa: S311 - reproducible mutations, not secrets
    worst = 0.0
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        if rng.random() < 0.1:
            data = data[:rng.randrange(len(data))]
        start = time.process_time()  # CPU seconds: another process on the same cores cannot inflate them
        with contextlib.suppress(IpcRefusedError):
            check_stream(bytes(data), SCHEMA_KEYS, FIELD_KEYS)
        worst = max(worst, time.process_time() - start)
    assert worst < 0.5


def _flatbuffer_schema_sharing_children(levels: int) -> bytes:
    """A Message(Schema) of nested Struct_ fields in which every field lists the next one twice as its children:
    flatbuffer offsets may be shared, so a naive walk visits 2**levels fields."""
    buf = bytearray()

    def put(fmt: str, *values: int) -> int:
        at = len(buf)
        buf.extend(struct.pack(fmt, *values))
        return at

    def point(at: int, target: int) -> None:  # a uoffset (always forward)
        struct.pack_into("<I", buf, at, target - at)

    root = put("<I", 0)
    message_vt = put("<6H", 12, 12, 0, 4, 8, 0)       # version absent, header_type +4, header +8
    schema_vt = put("<4H", 8, 8, 0, 4)                # fields +4
    field_vt = put("<8H", 16, 16, 0, 0, 4, 8, 0, 12)  # type_type +4, type +8, children +12
    empty_vt = put("<2H", 4, 4)
    message = put("<iBxxxI", 0, 1, 0)                 # header type 1: Schema
    struct.pack_into("<i", buf, message, message - message_vt)
    point(root, message)
    schema = put("<iI", 0, 0)
    struct.pack_into("<i", buf, schema, schema - schema_vt)
    point(message + 8, schema)
    fields = put("<II", 1, 0)
    point(schema + 4, fields)
    refs = [fields + 4]
    tables: list[int] = []
    for _ in range(levels):
        field = put("<iBxxxII", 0, 13, 0, 0)         # Struct_
        struct.pack_into("<i", buf, field, field - field_vt)
        for ref in refs:
            point(ref, field)
        tables.append(field)
        children = put("<III", 2, 0, 0)
        point(field + 12, children)
        refs = [children + 4, children + 8]
    leaf = put("<iBxxxII", 0, 13, 0, 0)  # the last level's two entries: one more field, with no children
    struct.pack_into("<i", buf, leaf, leaf - field_vt)
    for ref in refs:
        point(ref, leaf)
    point(leaf + 12, put("<I", 0))
    struct_table = put("<i", 0)
    struct.pack_into("<i", buf, struct_table, struct_table - empty_vt)
    for field in [*tables, leaf]:
        point(field + 8, struct_table)
    while len(buf) % 8:
        buf.append(0)
    return bytes(buf)


def test_shared_offsets_are_refused_quickly() -> None:
    small = _flatbuffer_schema_sharing_children(3)
    check_stream(b"\xff\xff\xff\xff" + struct.pack("<i", len(small)) + small, SCHEMA_KEYS, FIELD_KEYS)  # 15 fields
    meta = _flatbuffer_schema_sharing_children(40)
    stream = b"\xff\xff\xff\xff" + struct.pack("<i", len(meta)) + meta
    start = time.process_time()
    with pytest.raises(IpcRefusedError):
        check_stream(stream, SCHEMA_KEYS, FIELD_KEYS)
    assert time.process_time() - start < 0.5
