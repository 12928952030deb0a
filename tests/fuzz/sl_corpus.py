"""Seed corpus and mutators shared by the hypothesis tests and the atheris harnesses.

Everything is built at call time: benign pickles of plain data, numpy arrays and scikit-learn models across
protocols 0-5, and malicious ones for the THREATS.md B-section techniques. Malicious payloads name
``os.system`` & co. but are never loaded by these helpers (only scanned, or resolved by ``sl_oracle``).
"""

from __future__ import annotations

import collections
import datetime
import functools
import io
import json
import os
import pickle
import random
import struct
from pathlib import Path
from typing import Any

PROTOCOLS = range(6)


class _Reduce:
    """Pickles as ``func(*args)``: how an attacker writes a REDUCE payload."""

    def __init__(self, func: Any, args: tuple[Any, ...]) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def benign_seeds(*, heavy: bool = True) -> list[bytes]:
    values: list[Any] = [
        {"a": 1, "b": [1.5, None, True], "c": ("x", b"\x00\xff"), "d": {1, 2}, "e": frozenset({"z"})},
        [list(range(300)), "s" * 300, b"b" * 300, 2**100, -(2**70), 1.25e-7],
        collections.OrderedDict(a=1),
        collections.Counter("hello"),
        datetime.datetime(2020, 1, 2, 3, 4, 5),
        [[1], [[2], [[3]]]],
        {"shared": (shared := [1, 2]), "again": shared},
    ]
    if heavy:
        import numpy as np

        values += [
            np.arange(12, dtype=np.float32).reshape(3, 4),
            np.array(["a", "bc"]),
            np.int64(7),
            np.array([1, "x", None], dtype=object),
            np.random.RandomState(0),
        ]
        try:
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
            from sklearn.tree import DecisionTreeClassifier

            x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
            y = np.array([0, 1, 1, 0])
            values += [
                make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
                DecisionTreeClassifier(max_depth=2).fit(x, y),
            ]
        except ImportError:
            pass
    out = []
    for value in values:
        for proto in PROTOCOLS:
            out.append(pickle.dumps(value, protocol=proto))
    return out


def _ops_str(s: str) -> bytes:
    raw = s.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def malicious_seeds() -> list[bytes]:
    """Streams that reach a dangerous global when loaded. Each one names os.system, eval, exec or similar."""
    out: list[bytes] = []
    for proto in PROTOCOLS:
        out.append(pickle.dumps(_Reduce(os.system, ("echo pwned",)), protocol=proto))
        out.append(pickle.dumps({"w": [1, 2], "x": _Reduce(eval, ("1+1",))}, protocol=proto))
        out.append(pickle.dumps(_Reduce(functools.partial, (os.system, "id")), protocol=proto))
    out += [
        b"(S'print(1)'\ni__builtin__\nexec\n.",  # B1 INST
        b"\x80\x04(\x8c\x07smtplib\x8c\x04SMTP\x93\x8c\t127.0.0.1o0N.",  # B2 OBJ + POP
        (
            b"\x80\x04"
            + _ops_str("os")
            + b"q\x02\x30"
            + _ops_str("system")
            + b"q\x03\x30"
            + _ops_str("torch")
            + b"q\x00\x30"
            + _ops_str("LongStorage")
            + b"q\x01\x30"
            + b"h\x02h\x03\x93"
            + _ops_str("id")
            + b"\x85R."
        ),  # B3 memo operands
        b"S'os'\nS'system'\n\x93S'ls'\n\x85R.",  # B5 STRING operands
        b"\x80\x04"
        + _ops_str("pathlib")
        + _ops_str("os.system")
        + b"\x93"
        + _ops_str("id")
        + b"\x85R.",  # B8
        b"cos\nsystem\n(S'id'\ntR\xff\xff",  # B10 broken after payload
        b"cposix\nsystem\n(S'id'\ntR.",
        b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\nX\x02\x00\x00\x00os\x85R\x8c\x06system\x86R.",
        b"\x80\x02cbuiltins\ngetattr\n(cos\nsystem\nX\x04\x00\x00\x00read\ntR.",
        pickle.dumps([1, 2]) + pickle.dumps(_Reduce(os.system, ("id",))),  # B13 second stream
        b"\x80\x05\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R\x94.",  # FRAME
        b"\x80\x02csubprocess\nPopen\n]X\x02\x00\x00\x00id\x85\x85\x81.",  # NEWOBJ
        b"\x80\x02cpickle\nloads\nC\x14cos\nsystem\n(S'id'\ntR.\x85R.",  # nested pickle
    ]
    return out


def extension_seed(code: int = 0x4A) -> bytes:
    """EXT1 + REDUCE (B12). Resolves only where ``code`` is registered in the loading process."""
    return b"\x80\x02\x82" + bytes([code]) + b"X\x02\x00\x00\x00id\x85R."


# -- other formats ------------------------------------------------------------------------------------------
def zip_seeds() -> list[bytes]:
    import numpy as np
    import torch

    out = []
    for obj in ({"w": torch.ones(3)}, torch.nn.Linear(2, 2), [torch.zeros(2, dtype=torch.int8)]):
        buf = io.BytesIO()
        torch.save(obj, buf)
        out.append(buf.getvalue())
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(4), b=np.array([{"x": 1}], dtype=object))
    out.append(buf.getvalue())
    return out


def npy_seeds() -> list[bytes]:
    import numpy as np

    out = []
    for arr in (np.arange(6, dtype="<i4").reshape(2, 3), np.array(["a", "bc"]), np.array([1, None], dtype=object),
                np.zeros(2, dtype=[("a", "i4"), ("b", "f8", (2,))])):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=True)
        out.append(buf.getvalue())
    return out


def joblib_seeds() -> list[bytes]:
    import joblib
    import numpy as np

    out = []
    for compress in (0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)):
        buf = io.BytesIO()
        joblib.dump({"a": np.arange(10.0), "b": [np.ones(3, dtype=np.int8)], "c": "x"}, buf, compress=compress)
        out.append(buf.getvalue())
    return out


def protobuf_seeds() -> list[bytes]:
    seeds = sorted(Path(__file__).parents[1].glob("data/**/saved_model.pb"))
    out = [p.read_bytes() for p in seeds[:4]]
    # A minimal SavedModel: meta_graphs { graph_def { node { name: "r" op: "ReadFile" } } }
    node = b"\x0a\x01r" + b"\x12\x08ReadFile"
    graph = b"\x0a" + bytes([len(node)]) + node
    meta = b"\x12" + bytes([len(graph)]) + graph
    out.append(b"\x08\x01" + b"\x12" + bytes([len(meta)]) + meta)
    return out


def opening_seeds() -> list[bytes]:
    """Pickles that open with what the C unpickler accepts and pickletools does not (THREATS F1)."""
    body = pickle.dumps(_Reduce(os.system, ("true",)), protocol=2)
    return [
        pickle.dumps(_Reduce(os.system, ("true",)), protocol=4)[2:],   # FRAME without PROTO
        b"\x8f0" + body,                                                  # EMPTY_SET
        b"\x8d" + struct.pack("<Q", 1) + b"a0" + body,                    # BINUNICODE8
        b"I0x1\n0" + body,                                                # hex INT (strtol base 0)
        b"L0x1L\n0" + body,                                               # hex LONG
        b"I1\x00x\n0" + body,                                             # text after a NUL
    ]


def container_seeds() -> list[bytes]:
    """Archives built to make zip readers disagree, and tar/pickle polyglots (THREATS F2, F3)."""
    import sys
    import tarfile

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from zipcraft import count_split, shifted_split, zip64_split

    ok = pickle.dumps({"a": 1}, protocol=2)
    evil = pickle.dumps(_Reduce(os.system, ("true",)), protocol=2)
    meta = [("archive/version", b"3\n"), ("archive/byteorder", b"little")]
    out = [zip64_split([("archive/data.pkl", evil), *meta], [("archive/data.pkl", ok), *meta]),
           count_split([("archive/data.pkl", ok), *meta], [("config.json", b'{"class_name": "x"}')]),
           shifted_split([("archive/data.pkl", evil), *meta], [("archive/data.pkl", ok), *meta])]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [("N.", b""), ("storages", evil), ("tensors", pickle.dumps(0)), ("pickle", ok)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out.append(buf.getvalue())
    return out


ARCHIVE_TOKENS = [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08",
                  b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x01\x00", b"ustar\x0000", b"0000644\x00"]


def pbtxt_seeds() -> list[bytes]:
    """saved_model.pbtxt texts: the binary seeds' minimal model and a wired save/restore graph, as text."""
    return [
        b'saved_model_schema_version: 1\nmeta_graphs {\n  meta_info_def { tags: "serve" }\n'
        b'  graph_def {\n    node { name: "f" op: "Placeholder" }\n'
        b'    node { name: "c" op: "Const" attr { key: "value" value { tensor { string_val: "x\\001" } } } }\n'
        b'    node { name: "r" op: "RestoreV2" input: ["f", "c:0"] }\n'
        b'    node { name: "p" op: "PrintV2" input: "c" attr { key: "output_stream" value { s: "file:///t" } } }\n'
        b'    library { function { signature { name: "fn" input_arg { name: "a" } }\n'
        b'      node_def { name: "w" op: "WriteFile" input: "a" } ret { key: "o" value: "w:y:0" } } }\n'
        b'  }\n  saver_def { filename_tensor_name: "f:0" restore_op_name: "r" }\n'
        b'  signature_def { key: "__saved_model_init_op" value { outputs { key: "o" value { name: "p" } } } }\n}\n',
    ]


def keras_seeds() -> list[bytes]:
    init = {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {}}
    dense = {"module": "keras.layers", "class_name": "Dense",
             "config": {"units": 2, "activation": "relu", "kernel_initializer": init}}
    lam = {"module": "keras.layers", "class_name": "Lambda",
           "config": {"function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}}}
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [dense, lam]}}
    return [json.dumps(config).encode()]


# -- mutators --------------------------------------------------------------------------------------------
_INTERESTING = [
    b"(",
    b"0",
    b"1",
    b"2",
    b"t",
    b"l",
    b"d",
    b"e",
    b"u",
    b"a",
    b"s",
    b"R",
    b"b",
    b"\x81",
    b"\x93",
    b"\x94",
    b"h\x00",
    b"q\x00",
    b"g0\n",
    b"p0\n",
    b"\x95" + struct.pack("<Q", 3),
    b"\x80\x05",
    b"\x82\x01",
    b"\x83\x01\x00",
    b"\x84\x01\x00\x00\x00",
    b"\x97",
    b"\x98",
    b"N",
    b".",
    b"cos\nsystem\n",
    b"\x8c\x02os\x8c\x06system\x93",
    b"S'os'\n",
    b"V\\u0073ys\n",
    b"r\xff\xff\xff\xff",
    b"j\xff\xff\xff\xff",
    b"\x8e" + struct.pack("<Q", 1 << 60),
    b"T\xff\xff\xff\x7f",
    b"\x8a\xff",
    b"\x8b\xff\xff\xff\x7f",
    b"I99999999999999999999\n",
]


def mutate(data: bytes, rng: random.Random, corpus: list[bytes] | None = None,
           tokens: list[bytes] | None = None) -> bytes:
    """One to four random edits: flip, insert, delete, duplicate, splice, truncate, interesting opcodes (or the
    given ``tokens``, e.g. ``ARCHIVE_TOKENS`` for zip and tar structure)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(8)
        pos = rng.randint(0, len(buf)) if buf else 0
        if kind == 0 and buf:
            i = min(pos, len(buf) - 1)
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif kind == 2:
            buf[pos:pos] = rng.choice(tokens or _INTERESTING)
        elif kind == 3 and buf:
            del buf[pos : pos + rng.randint(1, 8)]
        elif kind == 4 and buf:
            end = min(len(buf), pos + rng.randint(1, 32))
            buf[pos:pos] = buf[pos:end]
        elif kind == 5 and corpus:
            other = rng.choice(corpus)
            cut = rng.randint(0, len(other))
            buf = buf[:pos] + bytearray(other[cut : cut + rng.randint(1, 64)]) + buf[pos:]
        elif kind == 6 and buf:
            del buf[pos:]
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    return bytes(buf)
