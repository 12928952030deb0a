"""The native engine's PlainList path: long lists of plain scalars reach BUILD's semantics as a stand-in.

Every case runs both engines (``tests/fuzz/sl_native_diff.py``: findings and stream results must be equal)
over streams where a list of plain scalars is BUILD state and then changes or travels: mixed scalar types,
one name or call result among 100 000 strings, memo references to the list (call arguments, dict keys,
set items, the loaded value), APPENDs after it was memoised and handed to BUILD, a second BUILD, a
``functools.partial`` whose state holds it. Malicious streams carry a harmless payload (touching a marker);
loading them through safeload must refuse and the marker must not exist.
"""

from __future__ import annotations

import math
import os
import pickle
import struct
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import safeload
from safeload._context import ScanContext
from safeload.engine import native
from safeload.engine.values import Call, PlainList
from safeload.engine.walker import scan_pickle
from safeload.policy import Policy

FUZZ_DIR = Path(__file__).parent / "fuzz"
sys.path.insert(0, str(FUZZ_DIR))

import sl_native_diff  # noqa: E402

pytestmark = pytest.mark.skipif(not native.AVAILABLE, reason="the native engine was not compiled here")

SETTINGS = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                    derandomize=not os.environ.get("FUZZ_RANDOM"))


class Latin1(bytes):
    """A py2 str (SHORT_BINSTRING / BINSTRING): read as latin-1."""


class P:
    """A tiny protocol-4 pickle writer (no frames), for streams pickle.dumps cannot produce."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x04")
        self.memo = 0

    def op(self, raw: bytes) -> P:
        self.out += raw
        return self

    def memoize(self) -> int:
        self.out += b"\x94"
        self.memo += 1
        return self.memo - 1

    def get(self, index: int) -> P:
        return self.op(b"j" + struct.pack("<I", index))

    def glob(self, module: str, name: str) -> P:
        return self.op(f"c{module}\n{name}\n".encode())

    def instance(self, module: str, name: str) -> P:
        return self.glob(module, name).op(b")\x81")  # cls() through NEWOBJ: an object of that class

    def scalar(self, x: Any) -> P:
        if x is None:
            return self.op(b"N")
        if x is True or x is False:
            return self.op(b"\x88" if x else b"\x89")
        if isinstance(x, int):
            if 0 <= x < 256:
                return self.op(b"K" + bytes([x]))
            if -(2**31) <= x < 2**31:
                return self.op(b"J" + struct.pack("<i", x))
            raw = x.to_bytes((x.bit_length() + 8) // 8, "little", signed=True)
            return self.op(b"\x8a" + bytes([len(raw)]) + raw)
        if isinstance(x, float):
            return self.op(b"G" + struct.pack(">d", x))
        if isinstance(x, Latin1):
            return self.op(b"U" + bytes([len(x)]) + x if len(x) < 256 else b"T" + struct.pack("<i", len(x)) + x)
        if isinstance(x, bytes):
            return self.op(b"C" + bytes([len(x)]) + x if len(x) < 256 else b"B" + struct.pack("<I", len(x)) + x)
        raw = x.encode("utf-8", "surrogatepass")
        return self.op(b"\x8c" + bytes([len(raw)]) + raw if len(raw) < 256 else
                       b"X" + struct.pack("<I", len(raw)) + raw)

    def plain_list(self, items: list[Any], *, memoize_items: bool = False) -> int:
        """Push a list of ``items``; returns its memo index."""
        self.op(b"]")
        index = self.memoize()
        self.op(b"(")
        for item in items:
            self.scalar(item)
            if memoize_items:
                self.memoize()
        self.op(b"e")
        return index

    def bytes(self) -> bytes:
        return bytes(self.out + b".")


def same(data: bytes) -> None:
    diffs = sl_native_diff.differences(data)
    assert not diffs, diffs


def native_value(data: bytes) -> Any:
    with sl_native_diff.engine("native"):
        return scan_pickle(data, ScanContext(Policy(), "<t>"))[0].value


def plain_lists_in(value: Any, depth: int = 0) -> list[Any]:
    """The PlainLists reachable from a stream value (through calls' arguments and state)."""
    found: list[Any] = []
    if depth > 20:
        return found
    if type(value) is PlainList:
        return [value]
    if type(value) is Call:
        return plain_lists_in(value.args, depth + 1) + plain_lists_in(value.state, depth + 1)
    if type(value) in (list, tuple):
        for item in value[:50]:
            found += plain_lists_in(item, depth + 1)
    elif type(value) is dict:
        for item in list(value.values())[:50]:
            found += plain_lists_in(item, depth + 1)
    return found


STRINGS = [f"customer-{i:07d}" for i in range(1000)]


# -- the case the path is for ----------------------------------------------------------------------------
def test_dataframe_object_column_same_findings_and_summarised() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"name": pd.Series([f"c-{i:06d}" for i in range(3000)], dtype=object),
                          "value": range(3000)})
    data = pickle.dumps(frame, protocol=5)
    same(data)
    lists = plain_lists_in(native_value(data))
    assert [len(p) for p in lists] == [3000]
    assert not safeload.scan(data).blocking()


def test_state_of_an_array_is_a_plain_list_and_clean() -> None:
    np = pytest.importorskip("numpy")
    data = pickle.dumps(np.array(STRINGS * 3, dtype=object), protocol=4)
    same(data)
    assert [len(p) for p in plain_lists_in(native_value(data))] == [3000]


# -- the stand-in is its list ---------------------------------------------------------------------------
def test_plain_list_behaves_as_its_list_and_keeps_identity() -> None:
    p = P()
    p.op(b"(").instance("__main__", "Thing")
    obj = p.memoize()
    lst = p.plain_list([*STRINGS[:300], 7, None, 2.5, b"raw", Latin1(b"\xe9t\xe9"), "\udc80x", 2**70, True])
    p.op(b"b0").get(obj).get(lst).op(b"l")  # [obj, lst]: BUILD obj with lst, then lst itself
    data = p.bytes()
    same(data)
    root = native_value(data)
    state = root[0].state
    assert type(state) is PlainList
    assert state.built is root[1]  # built when the root needed it: one list, as with the Python engine
    expected = [*STRINGS[:300], 7, None, 2.5, b"raw", "\xe9t\xe9", "\udc80x", 2**70, True]
    assert state == expected and len(state) == len(expected) and list(state) == expected
    assert repr(state) == repr(expected) and state[-1] is True
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        hash(state)


def test_plain_list_built_from_python_first_is_the_list_later_holders_get() -> None:
    p = P()
    p.op(b"(").instance("__main__", "Thing")
    obj = p.memoize()
    lst = p.plain_list(STRINGS[:400])
    p.op(b"b0").get(obj).get(lst).op(b"l")
    data = p.bytes()
    with sl_native_diff.engine("native"):
        res = scan_pickle(data, ScanContext(Policy(), "<t>"))[0]
        # nothing has built the list yet: the stand-in holds it, and the root (built below) gets that list
        root = res.value
    assert root[0].state.built is root[1]


# -- mutations, memo references, identity -----------------------------------------------------------------
def _stream(action: str, items: list[Any], state_shape: str, cls: tuple[str, str] = ("__main__", "Thing")) -> bytes:
    p = P()
    p.op(b"(")  # the root list's MARK
    p.instance(*cls)
    obj = p.memoize()
    lst = p.plain_list(items)
    if state_shape == "tuple":
        p.op(b"0K\x01").get(lst).op(b"\x86")
        state = p.memoize()
    elif state_shape == "dict":
        p.op(b"0}\x8c\x04rows").get(lst).op(b"s")
        state = p.memoize()
    else:
        state = lst
    p.op(b"b0")  # BUILD obj with the state, pop obj (it stays in the MARK frame through the memo)
    p.get(obj)
    if action == "append_global":
        p.get(lst).glob("os", "system").op(b"a0")
    elif action == "appends_plain_then_global":
        p.get(lst).op(b"(").scalar("more").scalar(3).op(b"e").get(lst).glob("os", "system").op(b"a0")
    elif action == "append_call_result":
        p.get(lst).glob("os", "system").scalar("true").op(b"\x85R").op(b"a0")
    elif action == "list_as_call_args":
        p.glob("collections", "OrderedDict").get(lst).op(b"R")
    elif action == "list_in_call_args":
        p.glob("builtins", "print").get(lst).op(b"\x85R")
    elif action == "state_as_dict_key":
        p.op(b"}").get(state).scalar(1).op(b"s")
    elif action == "state_in_set":
        p.op(b"\x8f(").get(state).op(b"\x90")
    elif action == "second_build":
        p.instance("__main__", "Other").get(state).op(b"b")
    elif action == "list_in_root":
        p.get(lst)
    elif action == "partial":
        p.glob("functools", "partial").get(lst).op(b"\x85R")  # partial(lst): the list as the function
        # partial.__setstate__((func, args, kwds, dict)) with the list as the function: it is invoked
        p.glob("functools", "partial").scalar("f").op(b"\x85\x81(").get(lst).op(b")}Ntb")
    elif action == "partial_then_global":
        p.glob("functools", "partial").scalar("f").op(b"\x85\x81(").get(lst).op(b")}Ntb")
        p.get(lst).glob("os", "system").op(b"a0")
    elif action == "invoked_state":
        # the state (holding the stand-in) is the function a BUILD puts into a partial: it is invoked
        p.glob("functools", "partial").scalar("f").op(b"\x85\x81(").get(state).op(b")}Ntb")
    elif action == "invoked_state_after_global":
        p.get(lst).glob("os", "system").op(b"a0")
        p.glob("functools", "partial").scalar("f").op(b"\x85\x81(").get(state).op(b")}Ntb")
    p.op(b"l")
    return p.bytes()


ACTIONS = ["none", "append_global", "appends_plain_then_global", "append_call_result", "list_as_call_args",
           "list_in_call_args", "state_as_dict_key", "state_in_set", "second_build", "list_in_root", "partial",
           "partial_then_global", "invoked_state", "invoked_state_after_global"]


@pytest.mark.parametrize("shape", ["list", "tuple", "dict"])
@pytest.mark.parametrize("action", ACTIONS)
def test_memoised_list_then_used(action: str, shape: str) -> None:
    data = _stream(action, STRINGS[:300], shape)
    same(data)
    with sl_native_diff.engine("native"):
        ctx = ScanContext(Policy(), "<t>")
        res = scan_pickle(data, ctx)[0]
    if action in ("state_as_dict_key", "state_in_set"):
        # hashing the state fails (in both engines, with the list's message): the stream is malformed there
        assert not res.complete
        kind = "dict" if shape == "dict" else "list"
        assert any(f"unhashable type: '{kind}'" in f.message for f in ctx.result().findings)
    else:
        assert res.complete and plain_lists_in(res.value)  # the path under test ran


@pytest.mark.parametrize("action", ["none", "append_global", "list_as_call_args", "state_as_dict_key"])
def test_array_state_then_used(action: str) -> None:
    # the shape of numpy's ndarray state: (version, shape, dtype, fortran, items)
    p = P()
    p.op(b"(")
    p.glob("numpy.core.multiarray", "_reconstruct").glob("numpy", "ndarray").op(b"K\x00\x85C\x01b\x87R")
    arr = p.memoize()
    lst = p.plain_list(STRINGS[:500], memoize_items=True)
    p.op(b"(K\x01M\xf4\x01\x85").glob("numpy", "dtype").scalar("O8").op(b"\x89\x88\x87R\x89").get(lst).op(b"t")
    state = p.memoize()
    p.op(b"b0").get(arr)
    if action == "append_global":
        p.get(lst).glob("os", "system").op(b"a0")
    elif action == "list_as_call_args":
        p.glob("builtins", "print").get(lst).op(b"R")
    elif action == "state_as_dict_key":
        p.op(b"}").get(state).scalar(1).op(b"s")
    same(p.op(b"l").bytes())


@pytest.mark.parametrize("where", [0, 50_000, 99_999])
@pytest.mark.parametrize("what", ["global", "call"])
def test_one_name_among_100k_strings(where: int, what: str) -> None:
    items = [f"s{i}" for i in range(100_000)]
    p = P()
    p.instance("__main__", "Thing")
    p.op(b"]").op(b"(")
    for i, item in enumerate(items):
        if i == where:
            if what == "global":
                p.glob("os", "system")
            else:
                p.glob("os", "system").scalar("true").op(b"\x85R")
        p.scalar(item)
    p.op(b"eb")
    data = p.bytes()
    same(data)
    result = safeload.scan(data)
    assert any(f.subject and "system" in f.subject for f in result.findings), result.findings
    assert not plain_lists_in(native_value(data))  # not plain: built exactly


def test_100k_plain_strings_are_summarised_and_equal() -> None:
    p = P()
    p.instance("__main__", "Thing")
    p.plain_list([f"s{i}" for i in range(100_000)], memoize_items=True)
    p.op(b"b")
    data = p.bytes()
    same(data)
    assert [len(x) for x in plain_lists_in(native_value(data))] == [100_000]


def test_short_lists_stay_exact() -> None:
    p = P()
    p.instance("__main__", "Thing")
    p.plain_list(STRINGS[:255])
    p.op(b"b")
    data = p.bytes()
    same(data)
    value = native_value(data)
    assert type(value.state) is list and len(value.state) == 255


def test_build_hook_states_are_exact() -> None:
    # joblib's NumpyArrayWrapper state is read by its BUILD hook: it gets exact values
    p = P()
    p.instance("joblib.numpy_pickle", "NumpyArrayWrapper")
    p.op(b"}\x8c\x05shape")
    p.plain_list(list(range(300)))
    p.op(b"s").op(b"b")
    data = p.bytes()
    same(data)
    assert type(native_value(data).state["shape"]) is list


# -- generated lists of mixed plain values ------------------------------------------------------------------
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12),
    st.binary(max_size=12), st.binary(max_size=8).map(Latin1), st.sampled_from(STRINGS[:20]),
)


@SETTINGS
@given(st.lists(_SCALARS, min_size=240, max_size=600), st.sampled_from(ACTIONS),
       st.sampled_from(["list", "tuple", "dict"]))
def test_mixed_plain_values(items: list[Any], action: str, shape: str) -> None:
    same(_stream(action, items, shape))


@SETTINGS
@given(st.lists(_SCALARS, min_size=256, max_size=400))
def test_mixed_values_round_trip_exactly(items: list[Any]) -> None:
    p = P()
    p.instance("__main__", "Thing")
    p.plain_list(items)
    p.op(b"b")
    state = native_value(p.bytes()).state
    assert type(state) is PlainList
    built = state.tolist()
    expected = [x.decode("latin-1") if isinstance(x, Latin1) else x for x in items]
    assert len(built) == len(expected)
    for a, b in zip(built, expected, strict=True):
        assert type(a) is type(b)
        assert a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


# -- malicious: the payload never runs ----------------------------------------------------------------------
@pytest.mark.parametrize("late", [True, False])
def test_payload_appended_after_build_is_refused(tmp_path: Path, late: bool) -> None:
    marker = tmp_path / "ran"
    p = P()
    p.op(b"(")
    p.instance("collections", "OrderedDict")
    obj = p.memoize()
    lst = p.plain_list(STRINGS[:500])
    if not late:
        p.get(lst).glob("os", "system").scalar(f"touch {marker}").op(b"\x85R").op(b"a0")
    p.op(b"b0").get(obj)
    if late:  # appended after the list was memoised and handed to BUILD
        p.get(lst).glob("os", "system").scalar(f"touch {marker}").op(b"\x85R").op(b"a0")
    data = p.op(b"l").bytes()
    same(data)
    path = tmp_path / "evil.pkl"
    path.write_bytes(data)
    with pytest.raises(safeload.UnsafeModelError), path.open("rb") as fh:
        safeload.pickle_load(fh)
    assert not marker.exists()


@pytest.mark.parametrize("value", ["ints", "strings"])
def test_container_shared_with_a_hook_state_reads_the_same(value: str) -> None:
    # a dict built for one object's BUILD state (holding a stand-in) is then the state of a joblib array
    # wrapper, whose hook reads it: its checks and messages see the stand-in as the list
    p = P()
    p.op(b"(")
    p.instance("__main__", "Thing")
    p.op(b"}")
    shared = p.memoize()
    p.op(b"(\x8c\x05shape")
    p.plain_list(list(range(300)) if value == "ints" else STRINGS[:300])
    p.op(b"\x8c\x05dtype")
    p.plain_list(STRINGS[:300])
    p.op(b"u")  # {"shape": [...], "dtype": [...]}
    p.op(b"b")
    p.instance("joblib.numpy_pickle", "NumpyArrayWrapper").get(shared).op(b"b")
    data = p.op(b"l").bytes()
    same(data)
    with sl_native_diff.engine("native"):
        ctx = ScanContext(Policy(), "<t>")
        root = scan_pickle(data, ctx)[0].value
    assert type(root[1].state["shape"]) is PlainList  # the hook did see the stand-in
    assert any("shape is not a literal tuple of ints" in f.message for f in ctx.result().findings)
