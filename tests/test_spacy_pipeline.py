"""spaCy's blank pipeline (issue 14, the families corpus' last refusal): the pickled Tokenizer and its regex methods.

``Tokenizer.__reduce__`` (spaCy 3.8.18 tokenizer.pyx) pickles ``(Tokenizer, (vocab, rules, prefix_search,
suffix_search, infix_finditer, token_match, url_match))``; the five callables are bound methods of compiled
patterns, pickled as ``getattr(re._compile(pattern, flags), "search")``. ``Tokenizer.__init__`` calls them **at
load**, on every special case's string (``add_special_case`` -> ``find_prefix``...). The spacy_tokenizer argument
contract (``catalog/state_contracts.py``) admits exactly spaCy's own English patterns (by digest), the vocab an
``unpickle_vocab`` call made and a bounded ORTH/NORM rules table. Every attack below carries a harmless payload
(a marker directory); each asserts it did not run under safeload, and a live twin shows it runs under pickle.loads.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import re
import time
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.reviewed import REVIEWED, SPACY_EN_TOKENIZER_PATTERNS
from safeload.catalog.state_contracts import SPACY_MAX_RULES, SPACY_RULE_MAX_CHARS

pytestmark = pytest.mark.skipif(importlib.util.find_spec("spacy") is None, reason="spaCy not installed")

_SLOTS = ("prefix_search", "suffix_search", "infix_finditer", "token_match", "url_match")


class _Reduce:
    """Pickles as ``fn(*args)``: a hand-made reduce, as an attacker writes it (nothing is called when pickling)."""

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.fn, self.args)


@pytest.fixture(scope="module")
def nlp() -> Any:
    import spacy

    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")
    return pipeline


def _scan(data: bytes, tmp_path: Path) -> safeload.ScanResult:
    path = tmp_path / "tokenizer.pkl"
    path.write_bytes(data)
    return safeload.scan(path)


def _refused(data: bytes, tmp_path: Path) -> safeload.ScanResult:
    """``data`` scans unsafe and the safe loader raises before running anything."""
    result = _scan(data, tmp_path)
    assert not result.is_safe(), result.summary()
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pickle_loads(data)
    return result


def _subjects(result: safeload.ScanResult) -> set[str]:
    return {f.subject for f in result.blocking() if f.subject}


def _tokenizer(nlp: Any, *, rules: Any = None, **slots: Any) -> bytes:
    """A Tokenizer pickle as ``Tokenizer.__reduce__`` writes it, with some arguments replaced."""
    from spacy.tokenizer import Tokenizer

    tok = nlp.tokenizer
    args = [nlp.vocab, tok.rules if rules is None else rules, *(slots.get(s, getattr(tok, s)) for s in _SLOTS)]
    return pickle.dumps(_Reduce(Tokenizer, tuple(args)), protocol=5)


def _marker_rule(marker: Path) -> dict[str, list[dict[int, str]]]:
    """One special case whose string is the marker's path: the tokenizer's callables get it at load."""
    return {str(marker): [{65: str(marker)}]}


# --- the review data -------------------------------------------------------------------------------------------------
def test_the_reviewed_patterns_are_the_installed_english_defaults() -> None:
    """The digests are introspected from the installed spaCy (``spacy.blank("en")``): recomputed here."""
    import spacy

    tok = spacy.blank("en").tokenizer
    seen = []
    for slot in _SLOTS:
        method = getattr(tok, slot)
        if method is None:
            continue
        pattern = method.__self__
        digest = hashlib.sha256(pattern.pattern.encode("utf-8", "surrogatepass")).hexdigest()
        seen.append(f"{slot} {method.__name__} {pattern.flags} {digest}")
    assert tuple(seen) == SPACY_EN_TOKENIZER_PATTERNS
    assert REVIEWED["spacy.tokenizer.Tokenizer"].arguments == ("spacy_tokenizer", SPACY_EN_TOKENIZER_PATTERNS)
    assert spacy.__version__ == "3.8.18"  # the version tokenizer.pyx was read in (the entry's note)


def test_the_regex_methods_admit_no_use_of_their_own() -> None:
    from safeload.catalog.uses import Use

    for name in ("re.Pattern.search", "re.Pattern.match", "re.Pattern.finditer"):
        entry = REVIEWED[name]
        assert not entry.uses & (Use.CALL | Use.INVOKE | Use.CALL_INSTANCE | Use.NEW | Use.BUILD)
    assert "re.Pattern.sub" not in REVIEWED and "re.Pattern.subn" not in REVIEWED


# --- what is admitted ------------------------------------------------------------------------------------------------
def test_the_pipeline_tokenizer_scans_clean_and_loads_like_pickle(nlp: Any, tmp_path: Path) -> None:
    data = pickle.dumps(nlp.tokenizer, protocol=5)
    result = _scan(data, tmp_path)
    assert result.is_safe(), result.summary()
    assert not {f.subject for f in result.findings} & {"spacy.tokenizer.Tokenizer", "re._compile.search",
                                                        "re.Pattern.search", "re.Pattern.finditer"}
    safe, real = safeload.pickle_loads(data), pickle.loads(data)
    assert safe.to_bytes() == real.to_bytes()
    assert [t.text for t in safe("Safeload scans http://x.org (fast).")] == \
        [t.text for t in real("Safeload scans http://x.org (fast).")]


@pytest.mark.parametrize("protocol", [2, 4])
def test_older_protocols_are_admitted_too(nlp: Any, tmp_path: Path, protocol: int) -> None:
    result = _scan(pickle.dumps(nlp.tokenizer, protocol=protocol), tmp_path)
    assert "spacy.tokenizer.Tokenizer" not in _subjects(result), result.summary()


# --- attacks ---------------------------------------------------------------------------------------------------------
def test_a_callable_the_tokenizer_runs_at_load_is_refused(nlp: Any, tmp_path: Path) -> None:
    """``prefix_search`` is called with every special case's string inside ``Tokenizer.__init__``."""
    marker = tmp_path / "marker"
    evil = functools.partial(os.makedirs, exist_ok=True)  # called with the string: makedirs(<marker path>)
    data = _tokenizer(nlp, rules=_marker_rule(marker), prefix_search=evil)
    result = _refused(data, tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result), result.summary()
    assert not marker.exists()
    pickle.loads(data)
    assert marker.exists()  # live under the real loader: the payload runs at load, not at first use


def test_a_regex_sub_with_a_callable_replacement_is_refused(nlp: Any, tmp_path: Path) -> None:
    """``re.compile(".").sub`` bound with a callable replacement by a partial: the tokenizer's call runs it."""
    marker = tmp_path / "marker"
    repl = functools.partial(os.makedirs, str(marker), 0o777)  # repl(match): exist_ok=match
    evil = functools.partial(re.compile(".").sub, repl)
    data = _tokenizer(nlp, rules={"ab": [{65: "ab"}]}, prefix_search=evil)
    _refused(data, tmp_path)
    assert not marker.exists()
    with pytest.raises(AttributeError):  # find_prefix reads .end() of the str sub returns: after the payload
        pickle.loads(data)
    assert marker.exists()  # live under the real loader


@pytest.mark.parametrize("method", ["sub", "subn", "split", "findall", "fullmatch", "scanner"])
def test_other_methods_of_the_reviewed_patterns_are_refused(nlp: Any, tmp_path: Path, method: str) -> None:
    """Only the reviewed method per slot (search/search/finditer/match) is admitted, even on the reviewed text."""
    pattern = nlp.tokenizer.prefix_search.__self__
    data = _tokenizer(nlp, prefix_search=getattr(pattern, method))
    result = _refused(data, tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result) or f"re.Pattern.{method}" in _subjects(result)


def test_a_slot_holding_another_slots_method_is_refused(nlp: Any, tmp_path: Path) -> None:
    tok = nlp.tokenizer
    _refused(_tokenizer(nlp, prefix_search=tok.suffix_search), tmp_path)
    _refused(_tokenizer(nlp, token_match=tok.url_match), tmp_path)  # token_match is None in English


def test_a_backtracking_pattern_is_refused_without_running_it(nlp: Any, tmp_path: Path) -> None:
    """A file's own regex is matched at load against the file's own strings: ``(a|aa)+$`` on 'a'*n + '!' takes
    exponential time. Refused by its text (not the reviewed digest), and the safe loader never matches it."""
    evil = re.compile("(a|aa)+$").search
    data = _tokenizer(nlp, rules={"a" * 60 + "!": [{65: "a" * 60 + "!"}]}, prefix_search=evil)
    start = time.monotonic()
    result = _refused(data, tmp_path)
    assert time.monotonic() - start < 30  # the scan and the refusal do not match the pattern (2**60 steps)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result)


def test_the_reviewed_text_with_other_flags_is_refused(nlp: Any, tmp_path: Path) -> None:
    pattern = nlp.tokenizer.prefix_search.__self__
    other = re.compile(pattern.pattern, re.IGNORECASE)
    _refused(_tokenizer(nlp, prefix_search=other.search), tmp_path)


def test_a_vocab_not_made_by_unpickle_vocab_is_refused(nlp: Any, tmp_path: Path) -> None:
    from spacy.tokenizer import Tokenizer

    marker = tmp_path / "marker"
    tok = nlp.tokenizer
    fake_vocab = _Reduce(functools.partial(os.makedirs, str(marker)), ())
    data = pickle.dumps(_Reduce(Tokenizer, (fake_vocab, {}, *(getattr(tok, s) for s in _SLOTS))), protocol=5)
    _refused(data, tmp_path)
    assert not marker.exists()
    pickle.loads(data)  # (the typed parameter accepts the None makedirs returns)
    assert marker.exists()  # live under the real loader


@pytest.mark.parametrize("rules", [
    {"ab": [{65: "ab", 74: "x"}]},                      # an attribute other than ORTH/NORM
    {"ab": [{"ORTH": "ab"}]},                            # a str attribute name (intify_attrs looks it up)
    {"ab": [{65: "a"}, {67: "b"}]},                      # a token without ORTH
    {"ab": ({65: "ab"},)},                               # not a list
    {"a" * (SPACY_RULE_MAX_CHARS + 1): [{65: "a" * (SPACY_RULE_MAX_CHARS + 1)}]},  # over the length bound
    {"ab": [{65: "a"}] * 17},                            # over the token bound
    {f"r{i}": [{65: f"r{i}"}] for i in range(SPACY_MAX_RULES + 1)},  # over the count bound
])
def test_rules_outside_the_reviewed_shape_are_refused(nlp: Any, tmp_path: Path, rules: Any) -> None:
    result = _refused(_tokenizer(nlp, rules=rules), tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result)


def test_a_callable_in_a_rule_is_refused(nlp: Any, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    rules = {"ab": [{65: "ab", 67: _Reduce(functools.partial(os.makedirs, str(marker)), ())}]}
    _refused(_tokenizer(nlp, rules=rules), tmp_path)
    assert not marker.exists()


def test_the_tokenizer_instantiated_by_newobj_is_refused(nlp: Any, tmp_path: Path) -> None:
    """The contract admits the REDUCE ``Tokenizer.__reduce__`` writes, not NEWOBJ (``__new__`` without init)."""
    del nlp
    data = b"\x80\x02cspacy.tokenizer\nTokenizer\n)\x81."  # GLOBAL, EMPTY_TUPLE, NEWOBJ, STOP
    result = _refused(data, tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result)


@pytest.mark.parametrize("where", ["list", "defaultdict"])
def test_a_reviewed_pattern_method_outside_the_tokenizer_is_refused(nlp: Any, tmp_path: Path, where: str) -> None:
    """The regex methods have no use of their own: invoked anywhere else (even with spaCy's own pattern), they are
    refused; only the tokenizer contract, which checks the text, admits them."""
    import collections

    search = nlp.tokenizer.prefix_search
    obj: Any = [search] if where == "list" else collections.defaultdict(search)
    result = _refused(pickle.dumps(obj, protocol=5), tmp_path)
    assert "re.Pattern.search" in _subjects(result)


def test_a_method_of_a_pattern_from_a_computed_argument_keeps_its_old_name(nlp: Any, tmp_path: Path) -> None:
    """``re._compile(<object>)`` returns that object when it is a Pattern: its methods are not ranked as
    ``re.Pattern``'s (the receiver's class is only known for literal arguments)."""
    inner = _Reduce(re._compile, (nlp.tokenizer.prefix_search.__self__, 0))  # type: ignore[attr-defined]
    data = pickle.dumps(_Reduce(getattr, (inner, "search")), protocol=5)
    result = _refused(data, tmp_path)
    assert "re.Pattern.search" not in {f.subject for f in result.findings}


def test_rules_changed_after_the_call_are_refused(nlp: Any, tmp_path: Path) -> None:
    """A SETITEM through a memo reference after the REDUCE changes a token dict the tokenizer keeps (its
    ``_rules`` holds the same dicts): the contract checks the rules again when the stream ends."""
    import pickletools
    import struct

    data = _tokenizer(nlp, rules={"ab": [{65: "ab"}]})
    clean = _scan(data, tmp_path)
    assert "spacy.tokenizer.Tokenizer" not in _subjects(clean), clean.summary()
    ops = list(pickletools.genops(data))
    memo = None  # protocol 5 memoizes implicitly: the spec dict's index is the count of MEMOIZE before its own
    count = 0
    for index, (op, _, _) in enumerate(ops):
        if op.name == "MEMOIZE":
            if ops[index - 1][0].name == "EMPTY_DICT" and ops[index + 1][0].name == "BININT1" \
                    and ops[index + 1][1] == 65:
                memo = count
                break
            count += 1
    assert memo is not None
    tail = b"j" + struct.pack("<I", memo) + b"K\x4a" + b"\x8c\x01X" + b"s" + b"0"  # spec[74] = "X"; POP
    changed = data[:-1] + tail + b"."
    assert pickle.loads(changed).rules["ab"][0] == {65: "ab", 74: "X"}  # the kept rules changed under plain pickle
    result = _refused(changed, tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result)
    assert any("when the stream ends" in f.message for f in result.blocking()), result.summary()


# --- the whole blank pipeline: English, its Sentencizer, its Configs ------------------------------------------------
def _fresh() -> Any:
    import spacy

    pipeline = spacy.blank("en")
    pipeline.add_pipe("sentencizer")
    return pipeline


def _makedirs(marker: Path) -> Any:
    """Called with any one or two extra arguments, creates ``marker`` (the third positional is exist_ok)."""
    return functools.partial(os.makedirs, str(marker), 0o777)


@pytest.mark.parametrize("protocol", range(6))
def test_the_blank_pipeline_scans_clean_and_loads_like_pickle(nlp: Any, tmp_path: Path, protocol: int) -> None:
    """Every protocol: 4+ write sets as literals and NEWOBJ, 2-3 ``builtins.set([...])``, 0-1 also
    ``copyreg._reconstructor`` for English and the Configs."""
    data = pickle.dumps(nlp, protocol=protocol)
    result = _scan(data, tmp_path)
    assert result.is_safe(), result.summary()
    assert {f.rule_id for f in result.findings} <= {"SL116", "SL100", "SL001"}, result.summary()
    safe, real = safeload.pickle_loads(data), pickle.loads(data)
    assert safe.to_bytes() == real.to_bytes()
    text = "Safeload scans the model. Then it loads it."
    assert [s.text for s in safe(text).sents] == [s.text for s in real(text).sents]


def test_an_attribute_shadowing_a_language_method_is_refused(tmp_path: Path) -> None:
    """Any key of the Language state lands in the instance dict: ``pipe`` there is what ``nlp.pipe`` calls."""
    marker = tmp_path / "marker"
    evil = _fresh()
    evil.__dict__["pipe"] = _makedirs(marker)
    data = pickle.dumps(evil, protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.lang.en.English" in _subjects(result)
    assert not marker.exists()
    loaded = pickle.loads(data)
    assert not marker.exists()  # nothing at load under the real loader...
    loaded.pipe(["text"])
    assert marker.exists()  # ...the shadowing attribute runs on first use


def test_a_component_that_is_not_a_reviewed_pipe_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _fresh()
    evil._components.append(("evil", _makedirs(marker)))
    data = pickle.dumps(evil, protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.lang.en.English" in _subjects(result)
    assert not marker.exists()
    with pytest.raises(ValueError, match="E005"):  # the component returned None, not a Doc: after the payload
        pickle.loads(data)("text")  # nlp(text) calls every component with the Doc (exist_ok=doc)
    assert marker.exists()  # live under the real loader, on first use


def test_a_tokenizer_that_is_not_the_admitted_one_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _fresh()
    evil.tokenizer = _makedirs(marker)
    data = pickle.dumps(evil, protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.lang.en.English" in _subjects(result)
    assert not marker.exists()
    with pytest.raises(Exception):
        pickle.loads(data)("text")
    assert marker.exists()  # live under the real loader


def test_another_error_handler_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _fresh()
    evil.default_error_handler = _makedirs(marker)
    result = _refused(pickle.dumps(evil, protocol=5), tmp_path)
    assert "spacy.lang.en.English" in _subjects(result)
    assert not marker.exists()


def test_a_sentencizer_scorer_that_is_not_senter_score_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _fresh()
    evil.get_pipe("sentencizer").scorer = _makedirs(marker)
    data = pickle.dumps(evil, protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.pipeline.sentencizer.Sentencizer" in _subjects(result)
    assert not marker.exists()
    pickle.loads(data).get_pipe("sentencizer").scorer([])  # what Pipe.score(examples) calls, with keywords
    assert marker.exists()  # live under the real loader, on first use


def test_a_sentencizer_attribute_shadowing_a_method_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = _fresh()
    evil.get_pipe("sentencizer").__dict__["predict"] = _makedirs(marker)
    data = pickle.dumps(evil, protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.pipeline.sentencizer.Sentencizer" in _subjects(result)
    assert not marker.exists()
    with pytest.raises(TypeError):  # set_annotations gets None from the shadowing predict: after the payload
        pickle.loads(data)("text")  # Sentencizer.__call__ -> self.predict([doc])
    assert marker.exists()  # live under the real loader, on first use


def test_a_pipe_state_given_as_the_reconstructor_argument_is_checked_too(tmp_path: Path) -> None:
    """``__pyx_unpickle_Pipe(cls, checksum, state)`` applies a state argument itself (no BUILD opcode): the
    Sentencizer's contract holds there too."""
    from spacy.pipeline.pipe import __pyx_unpickle_Pipe  # type: ignore[attr-defined]
    from spacy.pipeline.sentencizer import Sentencizer

    marker = tmp_path / "marker"
    state = ("sentencizer", {"punct_chars": {"."}, "overwrite": False, "scorer": _makedirs(marker)})
    data = pickle.dumps(_Reduce(__pyx_unpickle_Pipe, (Sentencizer, 0x82A3537, state)), protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.pipeline.sentencizer.Sentencizer" in _subjects(result)
    assert not marker.exists()
    pickle.loads(data).scorer([])  # what Pipe.score(examples) calls
    assert marker.exists()  # live under the real loader, on first use
    good = ("sentencizer", {"punct_chars": {"."}, "overwrite": False,
                            "scorer": _fresh().get_pipe("sentencizer").scorer})
    clean = _scan(pickle.dumps(_Reduce(__pyx_unpickle_Pipe, (Sentencizer, 0x82A3537, good)), protocol=5), tmp_path)
    assert "spacy.pipeline.sentencizer.Sentencizer" not in _subjects(clean), clean.summary()


def test_a_config_attribute_shadowing_a_dict_method_is_refused(tmp_path: Path) -> None:
    """``nlp.config`` calls ``self._config.setdefault(...)``: an instance attribute of the Config shadows it."""
    marker = tmp_path / "marker"
    evil = _fresh()
    evil._config.setdefault = _makedirs(marker)
    result = _refused(pickle.dumps(evil, protocol=5), tmp_path)
    assert "confection._config.Config" in _subjects(result)
    assert not marker.exists()


def test_the_language_made_by_a_call_is_refused(tmp_path: Path) -> None:
    """English() runs Language.__init__ (resolving the config through the registries): only NEWOBJ + BUILD."""
    from spacy.lang.en import English

    result = _refused(pickle.dumps(_Reduce(English, ()), protocol=5), tmp_path)
    assert "spacy.lang.en.English" in _subjects(result)


def test_another_language_is_not_covered(tmp_path: Path) -> None:
    import spacy

    result = _refused(pickle.dumps(spacy.blank("de"), protocol=5), tmp_path)
    assert any(s.startswith("spacy.lang.de") for s in _subjects(result)), result.summary()


def test_a_bare_pipe_admits_no_state(tmp_path: Path) -> None:
    """``Pipe`` itself is only the base the Cython rule allocates through: a Pipe instance given any state is
    refused (a bare cdef Pipe has no instance dict, so nothing the file could shadow there is reviewed either)."""
    from spacy.pipeline.pipe import Pipe, __pyx_unpickle_Pipe  # type: ignore[attr-defined]

    marker = tmp_path / "marker"
    state = ("pipe", {"pipe": _makedirs(marker)})
    data = pickle.dumps(_Reduce(__pyx_unpickle_Pipe, (Pipe, 0x82A3537, state)), protocol=5)
    result = _refused(data, tmp_path)
    assert "spacy.pipeline.pipe.Pipe" in _subjects(result)
    assert not marker.exists()


def test_an_unbound_pattern_method_in_a_slot_is_refused(nlp: Any, tmp_path: Path) -> None:
    """``re.Pattern.search`` named as a global (no receiver: the pattern is not the file's literal) is refused."""
    data = _tokenizer(nlp, prefix_search=re.Pattern.search)
    result = _refused(data, tmp_path)
    assert "spacy.tokenizer.Tokenizer" in _subjects(result)


def test_the_pipeline_entries_are_bound_to_the_files_and_release_read() -> None:
    """Compiled modules cannot be hashed as source: their entries hold only while spacy/about.py (the release) hashes
    as read; the Python ones are bound to their own files as well."""
    from safeload.catalog.decide import review_holds

    names = ("spacy.tokenizer.Tokenizer", "spacy.pipeline.pipe.Pipe", "spacy.pipeline.sentencizer.Sentencizer",
             "spacy.pipeline.senter.senter_score", "spacy.lang.en.English")
    for name in names:
        files = REVIEWED[name].source_files
        assert ("spacy.about" in dict(files)), name
        assert review_holds(files, name.rpartition(".")[0]), name
    assert dict(REVIEWED["spacy.lang.en.English"].source_files).keys() >= {"spacy.language", "spacy.lang.en"}
    assert review_holds(REVIEWED["confection._config.Config"].source_files, "confection._config")


def test_a_pattern_method_called_by_the_file_is_refused_without_running_it(tmp_path: Path) -> None:
    """The file itself calls ``re.compile(p).search(text)`` by REDUCE: the load would match a backtracking pattern
    (exponential); the method admits no call, so it is refused, and the safe loader never runs it."""
    data = pickle.dumps(_Reduce(re.compile("(a|aa)+$").search, ("a" * 60 + "!",)), protocol=5)
    start = time.monotonic()
    result = _refused(data, tmp_path)
    assert time.monotonic() - start < 30
    assert "re.Pattern.search" in _subjects(result)


def test_spacy_callables_called_by_the_file_instead_of_stored_are_refused(nlp: Any, tmp_path: Path) -> None:
    """``senter_score`` is admitted as stored (INVOKE by ``score()``), the Sentencizer as rebuilt (ALLOC/BUILD):
    neither may be called by the file."""
    from spacy.pipeline.sentencizer import Sentencizer
    from spacy.pipeline.senter import senter_score

    del nlp
    for fn in (senter_score, Sentencizer):
        result = _refused(pickle.dumps(_Reduce(fn, ([],)), protocol=5), tmp_path)
        assert f"{fn.__module__}.{fn.__qualname__}" in _subjects(result), result.summary()
