"""Transitional package rules from safeload 0.1, kept until the generated shards cover these packages.

A prefix rule admits classes (capitalised last component, no dunder) under a package. It is weaker than a
generated entry: it cannot tell a class defined there from a re-export of something else. What keeps it from
admitting what it should not: denials (with the generated alias table: ``sklearn...Thread`` *is*
``threading.Thread``) are looked up first and win; classes known to act at construction are denied by name
(``sklearn.callback``, ``Parallel``, ``Memory``); a rule never matches an attribute path (a dotted qualname walks
through a module: ``sklearn.utils.fixes`` + ``pd.core...Expr``). The boosters' packages have no rule: their
estimators are reviewed by name, and their ``Dataset`` frees a native handle from its state in ``__del__``.

Invariant: string matching only; nothing is imported.
"""

from __future__ import annotations

from safeload._record import FrozenRecord
from safeload.catalog.entries import Entry, parse_uses

__all__ = ["ARGUMENT_FROM", "NESTED_ARGUMENT", "NESTED_TORCH", "PREFIXES", "PrefixRule", "lookup", "nested_kind"]


class PrefixRule(FrozenRecord):
    """Allow class names under ``prefix`` (which ends with a dot), except those under ``exclude``."""

    _FIELDS = ("prefix", "exclude")
    __slots__ = ("exclude", "prefix")
    prefix: str
    exclude: tuple[str, ...]

    def __init__(self, prefix: str, exclude: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "exclude", exclude)

    def matches(self, name: str) -> bool:
        if not name.startswith(self.prefix) or name.startswith(self.exclude):
            return False
        last = name.rsplit(".", 1)[-1]
        return last[:1].isupper() and "__" not in name


PREFIXES: tuple[PrefixRule, ...] = ()  # every 0.1 package rule is replaced by generated entries

_PREFIX_ENTRY = Entry(parse_uses("CALL NEW ALLOC INVOKE BUILD MUTATE HASH PASSED CALL_INSTANCE"), (),
                      "safeload 0.1 package rule (transitional; replaced by generated entries)", "legacy-prefix")

# torch's own pickle-in-bytes for storages: allowed, and its bytes are scanned as a torch file.
NESTED_TORCH: frozenset[str] = frozenset({"torch.storage._load_from_bytes"})
_NESTED_ENTRY = Entry(parse_uses("CALL PASSED HASH"), (),
                      "torch.load of embedded bytes; the bytes are scanned as a torch file")


# Reviewed reconstructors (catalog/reviewed.py) that hand one of their arguments to a nested unpickler: the bytes at
# that position are scanned as a pickle of their own, with the same engine and context; anything else there (a
# value only known at load time, a missing argument) is SL103. spaCy 3.8.18 (vocab.pyx, tokens/doc.pyx):
# unpickle_vocab(sstore, vectors, morphology, _unused, lex_attr_getters, lookups, get_noun_chunks) runs
# srsly.pickle_loads(lex_attr_getters); unpickle_doc(vocab, hooks_and_data, bytes_data) runs
# srsly.pickle_loads(hooks_and_data) (srsly.pickle_loads is cloudpickle.loads, i.e. pickle.loads).
NESTED_ARGUMENT: dict[str, int] = {"spacy.vocab.unpickle_vocab": 4, "spacy.tokens.doc.unpickle_doc": 1}

# Reviewed reconstructors that run methods of some arguments: each such argument must be an object built by one of
# the named reconstructors in the same file (or None), else SL115. spaCy 3.8.18 vocab.pyx: unpickle_vocab assigns
# vectors through Vocab's vectors setter (hasattr/iterates vectors.strings, then sets vectors.strings) before any
# typed assignment, and lookups through the lookups setter (lookups.has_table("lexeme_norm"), get_table); strings
# and morphology are typed (TypeError otherwise) and are held to what pickle_vocab writes too.
ARGUMENT_FROM: dict[str, dict[int, frozenset[str]]] = {
    "spacy.vocab.unpickle_vocab": {0: frozenset({"spacy.strings.StringStore"}),
                                   1: frozenset({"spacy.vectors.unpickle_vectors"}),
                                   2: frozenset({"spacy.morphology.unpickle_morphology"}),
                                   5: frozenset({"spacy.lookups.Lookups"})},
}

# Functions whose result, for the literal arguments the engine checks, is always an instance of one class: a method
# bound to that result by getattr is ranked as the class's method (``re.Pattern.search``), with the result kept as
# its receiver, instead of as ``<function>.<attr>``. CPython 3.11 Lib/re/__init__.py: ``_compile(pattern, flags)``
# and ``compile(pattern, flags=0)`` return a ``re.Pattern`` for a str or bytes pattern (``copyreg`` pickles a
# pattern as ``re._compile, (pattern.pattern, pattern.flags)``); any other first argument is returned as is (a
# Pattern) or raises TypeError, so only a str or bytes literal first argument (and an int literal second) counts.
RESULT_CLASS: dict[str, str] = {"re._compile": "re.Pattern", "re.compile": "re.Pattern"}


def lookup(name: str) -> Entry | None:
    if name in NESTED_TORCH:
        return _NESTED_ENTRY
    if any(rule.matches(name) for rule in PREFIXES):
        return _PREFIX_ENTRY
    return None


def nested_kind(name: str) -> str | None:
    if name in NESTED_TORCH:
        return "any"
    return "pickle" if name in NESTED_ARGUMENT else None
