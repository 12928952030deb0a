"""spaCy (issue 14): why its five corpus files were refused (round 6), and the attacks any review must keep refused.

Round 7 (branch spacy): spaCy's import is vouched (``IMPORT_REVIEWS["spacy"]`` names the probes below) and its
reconstructors are reviewed with the nested streams scanned (``tests/test_spacy_reviews.py``); the attacks below are
now refused at the payload itself.

Two findings of round 6 (docs/false-positives.md, *spaCy, round 6*):

- ``import spacy`` (3.8.18) starts a process and binds a socket: ``thinc.compat`` imports h5py when it is installed
  (h5py's import runs ``uname -p``: the lead's round-5 decision keeps h5py unvouched) and ``spacy.cli`` imports
  requests, whose urllib3 binds a socket on ``::1`` at import (``HAS_IPV6``). Every spaCy name is refused at its
  import until those are accepted.
- spaCy's compiled reconstructors are **nested unpicklers**: ``unpickle_doc(vocab, hooks_and_data, bytes_data)``
  and ``unpickle_vocab(..., lex_attr_getters, ...)`` call ``srsly.pickle_loads`` (cloudpickle's ``loads``, that is
  ``pickle.loads``) on bytes from the file, and ``unpickle_vocab`` stores ``get_noun_chunks``, a callable the file
  chooses, which ``Doc.noun_chunks`` calls later. A per-use entry for them is sound only with a scan of the nested
  streams and a restriction of the stored callables to reviewed ones. The attacks below are live under the real
  loader and must stay refused whatever is reviewed later.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.reviewed import IMPORT_REVIEWED, IMPORT_REVIEWS

pytestmark = pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spaCy not installed")


class _Reduce:
    """Pickles as ``fn(*args)``: a hand-made reduce, as an attacker writes it."""

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


def _refused(data: bytes, tmp_path: Path) -> safeload.ScanResult:
    """``data`` scans unsafe and the safe loader raises before running anything."""
    path = tmp_path / "attack.pkl"
    path.write_bytes(data)
    result = safeload.scan(path)
    assert not result.is_safe(), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    return result


def _nested_payload(marker: Path) -> bytes:
    """A pickle stream that creates ``marker`` when unpickled (``os.makedirs(marker)``): the nested bytes."""
    return pickle.dumps(_Reduce(functools.partial(os.makedirs, str(marker)), ()), protocol=5)


def _pipeline() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _blocking_subjects(result: safeload.ScanResult) -> set[str]:
    return {f.subject for f in result.blocking() if f.subject}


# --- the import ----------------------------------------------------------------------------------------------------
_AUDIT = textwrap.dedent("""
    import sys, traceback
    seen = []
    def hook(event, args):
        if event in ("subprocess.Popen", "socket.bind", "socket.connect", "os.system", "os.posix_spawn"):
            frames = [f"{f.filename}" for f in traceback.extract_stack() if "site-packages" in f.filename]
            seen.append((event, repr(args[:2]), frames))
    sys.addaudithook(hook)
    import spacy
    for event, args, frames in seen:
        print(event, args, " <- ".join(frames[-6:]))
""")


def test_import_spacy_starts_a_process_and_binds_a_socket() -> None:
    """The blockers of round 6, measured: if a spaCy/thinc/urllib3 release drops them, revisit the spaCy files."""
    if importlib.util.find_spec("h5py") is None:
        pytest.skip("h5py not installed: thinc does not import it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    out = subprocess.run([sys.executable, "-c", _AUDIT], env=env, capture_output=True, text=True, timeout=300,
                         check=True).stdout.splitlines()
    uname = [line for line in out if line.startswith("subprocess.Popen") and "uname" in line]
    assert uname and all("h5py" in line and "thinc/compat.py" in line for line in uname), out
    bind = [line for line in out if line.startswith("socket.bind")]
    assert bind and all("urllib3/util/connection.py" in line for line in bind), out
    # round 7 (issue 14, branch spacy): spaCy's import is vouched with these two probes named in its review (a
    # reversal of the round-6 decision, for the lead); urllib3, requests and thinc are not vouched themselves; h5py
    # is since round 8 (its own review names the same `uname -p`, tests/test_h5py_matplotlib_reviews.py)
    assert not {"urllib3", "requests", "thinc"} & IMPORT_REVIEWED
    assert "`uname -p`" in IMPORT_REVIEWS["h5py"]
    assert "spacy" in IMPORT_REVIEWED
    assert "`uname -p`" in IMPORT_REVIEWS["spacy"] and "::1 port" in IMPORT_REVIEWS["spacy"]


# --- nested unpicklers and stored callables ------------------------------------------------------------------------
def test_doc_with_a_pickle_in_its_hooks_is_refused(tmp_path: Path) -> None:
    """``unpickle_doc`` loads its second argument with ``srsly.pickle_loads``: a payload there runs at load."""
    from spacy.tokens.doc import unpickle_doc  # type: ignore[attr-defined]  # compiled, not in doc.pyi

    doc = _pipeline()("Safeload scans the model.")
    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(unpickle_doc, (doc.vocab, _nested_payload(marker),
                                               doc.to_bytes(exclude=["vocab", "user_data", "user_hooks"]))),
                        protocol=5)
    result = _refused(data, tmp_path)
    # round 7: unpickle_doc is reviewed and its hooks argument scanned as a nested pickle: the payload is found there
    assert "os.makedirs" in _blocking_subjects(result), result.summary()
    assert not marker.exists()
    with pytest.raises(TypeError):  # the payload's result (None) is not the 4-tuple spaCy unpacks
        pickle.loads(data)
    assert marker.exists()  # live under the real loader


def _vocab_args(nlp: Any, lex_attr_getters: bytes, get_noun_chunks: Any) -> tuple[Any, ...]:
    vocab = nlp.vocab
    return (vocab.strings, vocab.vectors, vocab.morphology, vocab._unused_object, lex_attr_getters, vocab.lookups,
            get_noun_chunks)


def test_vocab_with_a_pickle_in_its_lexeme_getters_is_refused(tmp_path: Path) -> None:
    """``unpickle_vocab`` loads its fifth argument (``lex_attr_getters``) with ``srsly.pickle_loads``."""
    from spacy.vocab import unpickle_vocab

    nlp = _pipeline()
    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(unpickle_vocab, _vocab_args(nlp, _nested_payload(marker), None)), protocol=5)
    result = _refused(data, tmp_path)
    assert "os.makedirs" in _blocking_subjects(result), result.summary()  # round 7: found by the nested scan
    assert not marker.exists()
    pickle.loads(data)
    assert marker.exists()  # live under the real loader: the payload runs inside unpickle_vocab


def test_vocab_storing_an_unreviewed_noun_chunker_is_refused(tmp_path: Path) -> None:
    """``get_noun_chunks`` is stored, not called, at load; ``Doc.noun_chunks`` calls it with the Doc. A file that
    puts any callable there runs it when the user asks a Doc of that vocabulary for its noun chunks."""
    import srsly  # type: ignore[import-untyped]
    from spacy.tokens import Doc
    from spacy.vocab import unpickle_vocab

    nlp = _pipeline()
    marker = tmp_path / "marker"
    chunker = functools.partial(os.makedirs, str(marker), 0o777)  # called as chunker(doc): exist_ok=doc
    lex = srsly.pickle_dumps(nlp.vocab.lex_attr_getters)
    data = pickle.dumps(_Reduce(unpickle_vocab, _vocab_args(nlp, lex, chunker)), protocol=5)
    result = _refused(data, tmp_path)
    assert "os.makedirs" in _blocking_subjects(result), result.summary()  # round 7: the stored callable is checked
    assert not marker.exists()
    vocab = pickle.loads(data)
    assert not marker.exists()  # nothing ran at load under the real loader either...
    with pytest.raises(TypeError):  # ...os.makedirs returns None, which Doc.noun_chunks cannot iterate
        list(Doc(vocab, words=["Safeload", "scans"]).noun_chunks)
    assert marker.exists()  # ...but the stored callable ran on first use


@pytest.mark.parametrize("loads", ["srsly.pickle_loads", "srsly.cloudpickle.loads"])
def test_srsly_unpickler_called_by_the_file_is_refused(tmp_path: Path, loads: str) -> None:
    """The unpickler the reconstructors use, called directly by a file: ``srsly.pickle_loads`` is refused at its
    own name, ``srsly.cloudpickle.loads`` resolves to ``pickle.loads`` (a nested unpickler, denied)."""
    import srsly

    fn = srsly.pickle_loads if loads == "srsly.pickle_loads" else srsly.cloudpickle.loads
    marker = tmp_path / "marker"
    data = pickle.dumps(_Reduce(fn, (_nested_payload(marker),)), protocol=5)
    result = _refused(data, tmp_path)
    assert _blocking_subjects(result) & {"srsly._pickle_api.pickle_loads", "_pickle.loads"}, result.summary()
    assert not marker.exists()
    pickle.loads(data)
    assert marker.exists()  # live under the real loader
