"""spaCy 3.8.18 (issue 14): the engine's handling of spaCy's reconstructors, attacked.

- ``unpickle_vocab`` and ``unpickle_doc`` hand one argument to ``srsly.pickle_loads``: ``legacy.NESTED_ARGUMENT``
  names those positions (pinned here against the shipped ``.pyx``), so that once the names are reviewed the engine
  scans those bytes as a nested pickle;
- ``unpickle_vocab`` runs methods of its vectors and lookups arguments: each must be built by spaCy's own
  reconstructor in the file (``legacy.ARGUMENT_FROM``, SL115);
- srsly's unpickler and its vendored cloudpickle are denied under their srsly names.

Every payload would create a marker file; every test asserts it was not created.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.legacy import NESTED_ARGUMENT
from tests.attacks import C, G, assemble

spacy = pytest.importorskip("spacy")


def _payload(marker: Path) -> C:
    """Calling this at load would create the marker."""
    return C(G("builtins", "exec"), (f"open({str(marker)!r}, 'w').close()",))


def refused(data: bytes, marker: Path, *, by_payload: bool = False) -> None:
    """``data`` scans unsafe and the safe loader raises; ``by_payload``: a blocking finding names something other
    than spaCy's own names (the payload itself was found, not only a spaCy name refused)."""
    result = safeload.scan(data)
    assert not result.is_safe(), result
    if by_payload:
        subjects = {f.subject or "" for f in result.blocking()}
        assert any(not s.startswith("spacy.") for s in subjects), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    assert not marker.exists()


class _Reduce:
    """Pickles as ``func(*args)`` with the real pickler (protocol 5: bytes as BINBYTES)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _vocab_args(nlp: Any) -> list[Any]:
    """unpickle_vocab's real arguments for ``nlp.vocab`` (what pickle_vocab returns)."""
    from spacy.vocab import pickle_vocab

    return list(pickle_vocab(nlp.vocab)[1])


@pytest.fixture(scope="module")
def nlp() -> Any:
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


# --- the review ---------------------------------------------------------------------------------------------------










# --- spaCy's own pickles load -------------------------------------------------------------------------------------


def test_the_nested_positions_are_the_pickle_loads_arguments() -> None:
    """The positions the engine scans are the arguments spaCy's .pyx hands to srsly.pickle_loads."""
    import inspect

    root = Path(spacy.__file__).parent
    vocab = (root / "vocab.pyx").read_text()
    doc = (root / "tokens" / "doc.pyx").read_text()
    assert "vocab.lex_attr_getters = srsly.pickle_loads(lex_attr_getters)" in vocab
    assert ("def unpickle_vocab(sstore, vectors, morphology, _unused_object,\n"
            "                   lex_attr_getters, lookups, get_noun_chunks):") in vocab
    assert "user_data, doc_hooks, span_hooks, token_hooks = srsly.pickle_loads(hooks_and_data)" in doc
    assert "def unpickle_doc(vocab, hooks_and_data, bytes_data):" in doc
    assert NESTED_ARGUMENT == {"spacy.vocab.unpickle_vocab": 4, "spacy.tokens.doc.unpickle_doc": 1}
    assert inspect.isbuiltin(spacy.vocab.unpickle_vocab) or callable(spacy.vocab.unpickle_vocab)


# --- attacks on unpickle_vocab ------------------------------------------------------------------------------------




def test_srsly_loaders_and_vendored_cloudpickle_are_denied(tmp_path: Path) -> None:
    """srsly.pickle_loads is cloudpickle.loads (a nested unpickler: denied, its bytes scanned too); srsly's
    vendored cloudpickle gadgets are denied under their srsly names."""
    from safeload.catalog.classify import classify_name

    marker = tmp_path / "marker"
    for name in ("srsly.pickle_loads", "srsly._pickle_api.pickle_loads"):
        found = classify_name(name)
        assert found.kind == "denied" and found.nested == "pickle", name
        module, _, attr = name.rpartition(".")
        refused(assemble(C(G(module, attr), (assemble(_payload(marker)),))), marker)
        refused(assemble(C(G(module, attr), (pickle.dumps([1, 2]),))), marker)
    for name in ("srsly.cloudpickle.cloudpickle._make_function", "srsly.cloudpickle.cloudpickle.subimport",
                 "srsly.cloudpickle.loads", "srsly.cloudpickle.cloudpickle._make_skeleton_class"):
        assert classify_name(name).kind == "denied", name
    refused(assemble(C(G("srsly.cloudpickle.cloudpickle", "subimport"), ("os",))), marker)






def test_unpickle_vocab_arguments_must_be_what_pickle_vocab_writes(tmp_path: Path) -> None:
    """unpickle_vocab runs methods of its vectors (Vocab's vectors setter reads, iterates and sets .strings) and
    lookups (has_table, get_table) arguments: each must be built by spaCy's own reconstructor in the file
    (legacy.ARGUMENT_FROM), else SL115; a payload in any position is refused."""
    marker = tmp_path / "marker"
    empty = pickle.dumps({}, protocol=5)
    store = C(G("spacy.strings", "StringStore"), ([],))
    lookups = C(G("spacy.lookups", "Lookups"), ())
    for position, value in ((0, "strings"), (1, C(G("builtins", "dict"), ())), (1, store), (2, store),
                            (5, C(G("builtins", "dict"), ())), (5, store), (1, lookups)):
        args: list[Any] = [store, None, None, None, empty, None, None]
        args[position] = value
        data = assemble(C(G("spacy.vocab", "unpickle_vocab"), tuple(args)))
        result = safeload.scan(data)
        assert any(f.rule_id == "SL115" and f.subject == "spacy.vocab.unpickle_vocab" for f in result.findings), (
            position, result.findings)
        refused(data, marker)
    for position in (0, 1, 2, 3, 5):
        args = [None, None, None, None, empty, None, None]
        args[position] = _payload(marker)
        refused(assemble(C(G("spacy.vocab", "unpickle_vocab"), tuple(args))), marker)
    assert not marker.exists()


# --- attacks on unpickle_doc --------------------------------------------------------------------------------------




# --- the other reconstructors -------------------------------------------------------------------------------------






