"""Red team round 8: safeload attacked with its source in hand (what landed on 28-29 Nov: the R2-1 import-closure
check on by default, catalog/closure.py with the reviewed third-party territory and conditional imports; spaCy's
nested pickles, legacy.NESTED_ARGUMENT / ARGUMENT_FROM; the long-tail reviews h-j).

Every case builds its files at test time and carries a harmless payload: it creates a marker file. Where a library
is needed it is installed in a fake site-packages under ``tmp_path`` (``tests/test_redteam_round2`` helpers).
``..._is_live`` shows the payload runs under the plain loader; ``..._is_refused`` runs ``safeload.scan`` and
``safeload.pickle_load`` on the same file and asserts a refusal and an absent marker.

Findings (each let the payload run under safeload on main, 2371bb2):
- R8-1 (open) plugins loaded at import through entry points: ``import torch`` runs
  ``_import_device_backends()`` (torch/__init__.py, on unless ``TORCH_DEVICE_BACKEND_AUTOLOAD=0``), which loads and
  *calls* every installed ``torch.backends`` entry point; ``import networkx`` ends with
  ``_set_configs_from_environment()``, which loads and calls every ``networkx.backend_info`` entry point (numba's
  ``numba_extensions``/``init`` are loaded the same way at its first compilation). The reviewed closure table is
  computed from static imports, so ``torch``/``networkx`` are covered ("its imports stay inside reviewed
  territory") whatever distributions declare those groups: a distribution in site-packages with
  ``[torch.backends] x = plug:init`` runs under ``safeload.pickle_load`` of ``torch.float32`` (and of a real
  ``pickle.dumps(networkx.path_graph(3))`` for ``networkx.backend_info``), exactly as the closure invariant says it
  must not ("every package outside reviewed territory that the module's closure reaches is absent"). Fix
  direction: the generator records the entry-point groups a module's import-time code loads (``entry_points(group=
  <constant>)`` / ``.select(group=...)`` reached from the top level, pinned by sha256 like CONDITIONAL_IMPORTS) as
  outside names ``!<group>`` present while an installed distribution's ``entry_points.txt`` declares that group
  (read, never imported), so every module whose closure reaches ``torch``/``networkx`` is not covered and the
  import walk refuses at the loader module. Not done here: it needs the catalogue regenerated, and a decision for
  ``safeload.torch_load`` (torch is imported, and the plugins ran, before the file is read) so that environments
  with a device plugin (torch_npu, habana) are not refused every checkpoint;
- R8-2 (fixed) nested payloads given as ``_codecs.encode(text, <codec>)`` were read as ``text.encode("latin-1")``
  whatever the codec (engine/semantics.py ``_payload``): with ``"utf-8"`` (also the default of a one-argument
  call) every character >= U+0080 is two bytes to the loader and one to the scanner, so a SHORT_BINBYTES/BINBYTES
  length swallows a hidden protocol-0 ``os.system`` call in the scanned reading and stops before it in the loaded
  one. Through ``spacy.tokens.doc.unpickle_doc`` (the nested ``hooks_and_data``), ``spacy.vocab.unpickle_vocab``
  (``lex_attr_getters``) and ``torch.storage._load_from_bytes`` (torch.load's legacy path unpickles the first
  pickle before the magic check). Fixed (``_text_encoded``): the codec named is looked up the way
  ``codecs.lookup`` normalises it; latin-1, utf-8 and ascii with ``errors="strict"`` are encoded as the loader
  would, anything else (or keyword arguments) is not read (SL103);
- R8-3 (fixed) a BYTEARRAY8 value (a mutable ``bytearray`` to the loader, read as ``bytes`` by the engine) rewritten
  in place by SETITEMS (``ba[i] = v``, which the C unpickler does with ``PyObject_SetItem`` on any object) before
  it is handed to a nested loader: the scanner scanned the bytes as written, the loader unpickled the rewritten
  ones. Fixed (``_mutate``): APPEND(S)/SETITEM(S) on a bytes or bytearray value is SL114 MEDIUM (no pickler writes
  into one);
- R8-4 (fixed) the engine's decoders ignored their options: ``base64.b64decode(s, altchars)`` was read with
  ``a2b_base64`` (which drops ``-``/``_``), ``zlib.decompress(data, wbits)`` always as a zlib stream,
  ``lzma.decompress(data, format)`` as FORMAT_AUTO, and a ``functools.partial``'s keyword arguments were dropped.
  Live witness: ``unpickle_doc(None, base64.b64decode(T, b"-_"), b"")`` where ``----`` in ``T`` is three bytes to
  the loader (``+++`` -> ``\\xfb\\xef\\xbe``) and nothing to the scanner, so a SHORT_BINBYTES hides the payload from
  one reading only. Fixed: the base64 decoders run with their options (plain values only), ``wbits`` is honoured,
  another lzma format or any keyword argument is not read (SL103).
- R8-5 (fixed) ``random.Random``'s review (lt-i) said "nothing of the state is called", but ``setstate`` compares
  ``state[0] == 3`` (the version object's ``__eq__``), %s-formats a wrong version (its ``__str__``) and the C
  ``_random.Random.setstate`` converts the position with ``PyLong_AsLong`` (an object's ``__index__``): an instance
  of an installed class whose ``__eq__``/``__index__`` writes a file, placed there by the file, ran under
  ``safeload.pickle_load`` (the object's class is inert to construct: SL116 LOW). Fixed: the reviewed entry carries
  the BUILD state contract ``random_state`` (state_contracts.py): a 3-tuple of an int version, a tuple of ints and
  None or a float, as ``getstate`` writes it; anything else is SL115 (a callable ``gauss_next`` too).

Near misses (refused): ``unpickle_doc`` named by STACK_GLOBAL attribute paths (``spacy`` +
``tokens.doc.unpickle_doc``, ``spacy.tokens`` + ``doc.unpickle_doc``): the nested position is found for the name
as resolved; a ``transformers`` name served by its lazy ``__getattr__`` whose module imports an installed optional
package (comet_ml) at top level: "cannot resolve ... statically" (SL104); the same module named directly: its
reviewed closure lists comet_ml, which is present, so its imports are followed.
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import pytest

from tests.attacks import C, G, assemble
from tests.test_redteam_round2 import LibCase, _live, _refused

_MARKER = "MARKER"  # _install's marker: tmp_path / "MARKER"


def _command(marker: Path) -> bytes:
    """Protocol 0, no STOP: ``os.system("touch <marker>")``."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR".encode()


# --- R8-1: entry-point plugins loaded at import ---------------------------------------------------------------------
_PLUGIN = {
    "rt8plug/__init__.py": """
        open(MARKER, "w").close()

        def init():
            open(MARKER, "w").close()

        def info():
            open(MARKER, "w").close()
            return {}
    """,
    "rt8plug-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: rt8plug\nVersion: 1.0\n",
    "rt8plug-1.0.dist-info/entry_points.txt": ("[torch.backends]\nrt8 = rt8plug:init\n\n"
                                               "[networkx.backend_info]\nrt8 = rt8plug:info\n"),
}


def _networkx_graph() -> bytes:
    import pickle

    networkx = pytest.importorskip("networkx")
    return pickle.dumps(networkx.path_graph(3))


PLUGINS = {
    "torch.backends": LibCase(_PLUGIN, lambda: b"\x80\x02ctorch\nfloat32\n."),
    "networkx.backend_info": LibCase(_PLUGIN, _networkx_graph),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(PLUGINS))
def test_import_time_plugin_is_live(tmp_path: Path, label: str) -> None:
    pytest.importorskip(label.split(".", 1)[0])
    _live(tmp_path, PLUGINS[label])


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(PLUGINS))  # fixed: catalog/plugins.py (SL119)
def test_import_time_plugin_is_refused(tmp_path: Path, label: str) -> None:
    pytest.importorskip(label.split(".", 1)[0])
    _refused(tmp_path, PLUGINS[label])


# --- R8-2 / R8-3 / R8-4: nested bytes the scanner reads differently from the loader -----------------------------------
def _utf8_hidden(marker: Path) -> str:
    """Text whose latin-1 bytes are a benign pickle (a tuple of one bytes object) and whose utf-8 bytes run the
    command: each U+00FF is one byte to latin-1 and two to utf-8, so the BINBYTES length (ASCII-safe) ends before
    the command in the utf-8 reading only."""
    hidden = _command(marker).decode()
    while any(b >= 0x80 for b in struct.pack("<I", 2 * len(hidden))):
        hidden = "N" + hidden  # pushes None (into the tuple): pads the length to ASCII-safe bytes
    length = struct.pack("<I", 2 * len(hidden))
    return "(B" + length.decode() + "\xff" * len(hidden) + hidden + "t."


def _altchars_hidden(marker: Path) -> bytes:
    """urlsafe base64 text: ``----`` is three bytes to ``b64decode(t, b"-_")`` and nothing to ``a2b_base64``; a
    SHORT_BINBYTES of 3 swallows them in one reading and the next opcodes in the other."""
    mal = _command(marker) + b"."
    assert len(mal) < 256
    body = b"C\x03x" + b"C" + bytes([len(mal)]) + mal + b"."
    return base64.b64encode(b"NC\x03") + b"----" + base64.b64encode(body)


def _doc(hooks: object) -> bytes:
    return assemble(C(G("spacy.tokens.doc", "unpickle_doc"), (None, hooks, b"")))


def _bytearray_rewritten(marker: Path) -> bytes:
    """Protocol 5: a BYTEARRAY8 holding a benign pickle, memoized, rewritten byte by byte with SETITEMS into the
    command, then handed to unpickle_doc."""
    evil = _command(marker) + b"."
    benign = b"\x80\x02X" + struct.pack("<I", len(evil) - 8) + b"A" * (len(evil) - 8) + b"."
    assert len(benign) == len(evil)
    out = b"\x80\x05\x96" + struct.pack("<Q", len(benign)) + benign + b"\x94" + b"0" + b"h\x00("
    for i, value in enumerate(evil):
        out += b"M" + struct.pack("<H", i) + b"K" + bytes([value])
    out += b"u0" + b"cspacy.tokens.doc\nunpickle_doc\n(Nh\x00C\x00tR."
    return out


def _nested_cases(marker: Path) -> dict[str, bytes]:
    utf8 = C(G("_codecs", "encode"), (_utf8_hidden(marker), "utf-8"))
    return {
        "R8-2-unpickle-doc-utf8": _doc(utf8),
        "R8-2-unpickle-vocab-utf8": assemble(C(G("spacy.vocab", "unpickle_vocab"),
                                               (None, None, None, None, utf8, None, None))),
        "R8-2-load-from-bytes-utf8": assemble(C(G("torch.storage", "_load_from_bytes"), (utf8,))),
        "R8-2-unpickle-doc-default-codec": _doc(C(G("_codecs", "encode"), (_utf8_hidden(marker),))),
        "R8-3-bytearray-rewritten": _bytearray_rewritten(marker),
        "R8-4-b64decode-altchars": _doc(C(G("base64", "b64decode"), (_altchars_hidden(marker), b"-_"))),
    }


_NESTED_LABELS = sorted(_nested_cases(Path("/m")))
# unpickle_vocab(None, ...) raises before it reaches srsly.pickle_loads: its twin is the doc one
_LIVE_LABELS = [label for label in _NESTED_LABELS if "vocab" not in label]


def _nested_case(tmp_path: Path, label: str) -> LibCase:
    pytest.importorskip("torch" if "load-from-bytes" in label else "spacy")
    data = _nested_cases(tmp_path / _MARKER)[label]
    return LibCase({}, lambda: data)


@pytest.mark.slow
@pytest.mark.parametrize("label", _LIVE_LABELS)
def test_nested_differential_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, _nested_case(tmp_path, label))


@pytest.mark.parametrize("label", _NESTED_LABELS)
def test_nested_differential_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, _nested_case(tmp_path, label))


# --- scan-level regressions: the decoders read what the loader reads ------------------------------------------------
def _blocking(data: bytes) -> set[str]:
    import safeload

    return {f.rule_id for f in safeload.scan(data).findings if f.severity >= safeload.Severity.MEDIUM}


def test_text_encoding_is_read_with_the_codec_named() -> None:
    from safeload.engine.semantics import _text_encoded

    assert _text_encoded(("\xff", "latin1")) == b"\xff"
    assert _text_encoded(("\xff", "ISO-8859-1")) == b"\xff"
    assert _text_encoded(("\xff",)) == b"\xc3\xbf"  # _codecs.encode's default is utf-8
    assert _text_encoded(("\xff", "UTF8")) == b"\xc3\xbf"
    assert _text_encoded(("\xff", "utf-16")) is None  # not read: SL103 where it is a nested payload
    assert _text_encoded(("\xff", "latin1", "replace")) is None
    assert _text_encoded(("\xff", "ascii")) is None  # the loader raises


def test_nested_payload_in_another_codec_is_not_read(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    data = _doc(C(G("_codecs", "encode"), (_utf8_hidden(tmp_path / _MARKER), "utf-16")))
    assert "SL103" in _blocking(data)


def test_raw_deflate_nested_payload_is_scanned(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    packer = zlib.compressobj(wbits=-15)
    raw = packer.compress(_command(tmp_path / _MARKER) + b".") + packer.flush()
    blocking = _blocking(_doc(C(G("zlib", "decompress"), (raw, -15))))
    assert "SL101" in blocking, blocking  # read as the loader reads it (it was SL103: not read)


def test_decoder_keywords_are_not_read(tmp_path: Path) -> None:
    pytest.importorskip("spacy")
    packer = zlib.compressobj(wbits=-15)
    raw = packer.compress(_command(tmp_path / _MARKER) + b".") + packer.flush()
    decoder = C(G("functools", "partial"), (G("zlib", "decompress"),), (G("zlib", "decompress"), (), {"wbits": -15},
                                                                        None))
    assert "SL103" in _blocking(_doc(C(decoder, (raw,))))  # a partial's keywords change the bytes: not read


@pytest.mark.parametrize(("module", "name"), [("spacy", "tokens.doc.unpickle_doc"),
                                              ("spacy.tokens", "doc.unpickle_doc")])
def test_attribute_path_to_unpickle_doc_still_scans_the_nested_bytes(tmp_path: Path, module: str, name: str) -> None:
    pytest.importorskip("spacy")

    def short(text: str) -> bytes:
        raw = text.encode()
        return b"\x8c" + bytes([len(raw)]) + raw

    evil = _command(tmp_path / _MARKER) + b"."
    data = (b"\x80\x04" + short(module) + short(name) + b"\x93(N" + b"B" + struct.pack("<I", len(evil)) + evil
            + b"C\x00tR.")
    assert "SL101" in _blocking(data)


def test_benign_bytes_in_latin1_still_load() -> None:
    """What protocols 0-2 write for bytes (``_codecs.encode(text, "latin1")``) is read as before."""
    import io
    import pickle

    import safeload

    value = {"blob": bytes(range(256)), "nested": pickle.dumps([1, 2], protocol=2)}
    assert safeload.pickle_load(io.BytesIO(pickle.dumps(value, protocol=2))) == value


# --- R8-5: random.Random's setstate runs protocol methods of the state's objects ------------------------------------
_PROTOCOL_OBJECT = """
    class E:
        def __eq__(self, other):
            open(MARKER, "w").close()
            return False

        __hash__ = object.__hash__

        def __index__(self):
            open(MARKER, "w").close()
            return 1
"""


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _random_state(version: bytes, words: bytes, gauss_next: bytes) -> bytes:
    return b"\x80\x02crandom\nRandom\n)R(" + version + b"(" + words + b"t" + gauss_next + b"tb."


_OBJECT = b"crt8eq.mod\nE\n)R"
RANDOM = {
    "version-eq": LibCase({"rt8eq/__init__.py": "", "rt8eq/mod.py": _PROTOCOL_OBJECT},
                          lambda: _random_state(_OBJECT, _int(0) * 624 + _int(624), b"N")),
    "position-index": LibCase({"rt8eq/__init__.py": "", "rt8eq/mod.py": _PROTOCOL_OBJECT},
                              lambda: _random_state(_int(3), _int(0) * 624 + _OBJECT, b"N")),
}


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(RANDOM))
def test_random_state_protocol_method_is_live(tmp_path: Path, label: str) -> None:
    _live(tmp_path, RANDOM[label])


@pytest.mark.parametrize("label", sorted(RANDOM))
def test_random_state_protocol_method_is_refused(tmp_path: Path, label: str) -> None:
    _refused(tmp_path, RANDOM[label])


def test_random_state_contract_admits_what_getstate_writes() -> None:
    import io
    import pickle
    import random

    import safeload

    stepped = random.Random(5)  # noqa: S311 - pickled, not used for security
    stepped.gauss(0, 1)  # gauss_next is a float
    for rng in (random.Random(1), stepped):  # noqa: S311
        for protocol in (2, 5):
            loaded = safeload.pickle_load(io.BytesIO(pickle.dumps(rng, protocol=protocol)))
            assert loaded.getstate() == rng.getstate()
    for bad in (_random_state(_int(3), _int(0) * 624 + _int(624), b"cbuiltins\nprint\n"),
                _random_state(_int(3), _int(0) * 624 + b"G@\x00\x00\x00\x00\x00\x00\x00", b"N"),
                b"\x80\x02crandom\nRandom\n)RK\x03N\x86b."):
        assert "SL115" in _blocking(bad), bad
