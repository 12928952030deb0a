"""spaCy 3.8.18 (issue 14): the import review and the reviewed reconstructors, attacked.

What was reviewed (``catalog/reviewed.py``, ``catalog/legacy.NESTED_ARGUMENT``), and what each test checks:

- the import vouch covers exactly the modules ``import spacy, spacy.lang.en`` loads (``IMPORT_NOT_COVERED`` is
  checked against the installed package), and that import does only the fixed environment probes its note names
  (measured with an audit hook in a fresh interpreter);
- spaCy's pickles load through the safe loader and equal the plain loader's result;
- ``unpickle_vocab`` and ``unpickle_doc`` hand one argument to ``srsly.pickle_loads``: those bytes are scanned as
  a nested pickle with the same engine, so a payload there, a function pickled by value (cloudpickle) or bytes
  only known at load time are refused;
- a callable the file hands a reviewed reconstructor (the noun-chunk iterator, a Doc hook, a tag, a string) is
  checked for what it would run; the reviewed names may not be used in ways the review did not cover.

Every payload would create a marker file; every test asserts it was not created.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.decide import catalogue_view, reviewed_files_hold
from safeload.catalog.legacy import NESTED_ARGUMENT
from safeload.catalog.reviewed import IMPORT_NOT_COVERED, IMPORT_REVIEWED, IMPORT_REVIEWS, REVIEWED, import_not_covered
from safeload.catalog.uses import Use
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
def test_the_reviewed_version_is_the_installed_one() -> None:
    from importlib.metadata import version

    assert IMPORT_REVIEWS["spacy"].startswith(f"spaCy {version('spacy')} ")
    for name in ("spacy.tokens.doc.unpickle_doc", "spacy.vocab.unpickle_vocab", "spacy.strings.StringStore",
                 "spacy.lang.lex_attrs.is_punct", "spacy.lang.en.syntax_iterators.noun_chunks"):
        assert f"spaCy {version('spacy')} " in REVIEWED[name].note
    # the Python functions are bound to the text read: an edited file is decided like an unknown name
    for name in ("spacy.lang.lex_attrs.is_punct", "spacy.util._get_attr_unless_lookup",
                 "spacy.lang.en.syntax_iterators.noun_chunks"):
        assert REVIEWED[name].source_files and reviewed_files_hold(REVIEWED[name].source_files), name


_LOADED = """
import json, os, sys
import spacy, spacy.lang.en
root = os.path.dirname(sys.modules["spacy"].__file__)
names = set()
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if x != "__pycache__"]
    rel = os.path.relpath(d, os.path.dirname(root)).replace(os.sep, ".")
    for f in files:
        if f.endswith((".py", ".so", ".pyd")):
            stem = f.split(".")[0]
            names.add(rel if stem == "__init__" else rel + "." + stem)
print(json.dumps(sorted(names - set(sys.modules))))
"""


def test_import_not_covered_lists_every_module_import_spacy_does_not_load(tmp_path: Path) -> None:
    """Listing files (never walk_packages, which would import every language): every spaCy module
    ``import spacy, spacy.lang.en`` leaves unloaded is outside the vouch, and the vouch covers what it loads."""
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", _LOADED], capture_output=True, text=True,
                         check=True, timeout=300, cwd=tmp_path)
    unread = json.loads(run.stdout.strip().splitlines()[-1])
    missing = [m for m in unread if not import_not_covered(m)]
    assert not missing, f"modules the review did not read are vouched: {missing}"
    listed = IMPORT_NOT_COVERED["spacy"]
    assert all(m in unread or any(u.startswith(m + ".") for u in unread) for m in listed)
    for loaded in ("spacy", "spacy.errors", "spacy.util", "spacy.language", "spacy.lang.en",
                   "spacy.lang.en.syntax_iterators", "spacy.lang.lex_attrs", "spacy.lookups"):
        assert not import_not_covered(loaded)
        assert catalogue_view(loaded, Use.IMPORT) is True
    for other in ("spacy.lang.de", "spacy.lang.zh", "spacy.tests", "spacy.lang.en.examples"):
        assert catalogue_view(other, Use.IMPORT) is None
    assert catalogue_view("spacyx", Use.IMPORT) is not True


_AUDIT = """
import os, sys
events = []
def hook(event, args):
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            events.append([event, str(args[0])])
    elif event.split(".")[0] in ("subprocess", "socket", "shutil") or event in (
            "os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.system", "os.posix_spawn", "os.exec",
            "os.fork", "os.chmod", "os.symlink", "os.link", "os.truncate"):
        events.append([event, repr(args)])
sys.addaudithook(hook)
import spacy, spacy.lang.en
import json
print(json.dumps(events))
"""


def test_importing_spacy_does_only_the_reviewed_environment_probes(tmp_path: Path) -> None:
    """What the review claims, measured: `uname -p` once (h5py -> platform.uname), a probe file created and
    deleted in the temp directory (dill.session -> tempfile.gettempdir), a socket bound to ::1 port 0 and closed
    (urllib3's IPv6 probe); nothing else written, no other process, no connection."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "TMPDIR": str(tmp)}
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", _AUDIT], capture_output=True, text=True,
                         check=True, timeout=300, cwd=tmp_path, env=env)
    events = json.loads(run.stdout.strip().splitlines()[-1])
    unexpected = []
    for event, detail in events:
        if event == "subprocess.Popen" and "['uname', '-p']" in detail:
            continue
        if event in ("open", "os.remove") and (detail.startswith(str(tmp)) or f"'{tmp}/" in detail):
            continue  # tempfile's writability probe, in the temp directory, deleted at once
        if event == "socket.__new__" or (event == "socket.bind" and "('::1', 0)" in detail):
            continue
        if event == "open" and detail == "/dev/null":
            continue  # opened for writing by subprocess for the uname probe's stdin/stderr
        unexpected.append((event, detail))
    assert unexpected == [], unexpected
    assert [e for e, _ in events if e == "subprocess.Popen"] == ["subprocess.Popen"]
    assert list(tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


# --- spaCy's own pickles load -------------------------------------------------------------------------------------
@pytest.fixture
def loose_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """R2-1's closure check switched off (``SAFELOAD_STRICT_IMPORTS=0``). With it on (the default), importing
    ``spacy.lookups`` reaches thinc, srsly, preshed, pydantic, requests... which are not reviewed one by one, so
    ``spacy.lookups.Lookups`` (decided from source) is refused: see the test below."""
    from safeload.catalog import source_analysis, source_imports

    monkeypatch.setattr(source_imports, "STRICT_IMPORTS", False)
    monkeypatch.setenv("SAFELOAD_CACHE", "0")
    source_analysis.clear_cache()
    yield
    source_analysis.clear_cache()


def test_with_the_closure_check_spacy_pickles_follow_the_closure_table(nlp: Any) -> None:
    """The default (closure check on): while the generated table says spacy.lookups' import closure leaves
    reviewed territory (before the third-party reviews are regenerated into it, or while h5py is not reviewed),
    ``spacy.lookups.Lookups`` is refused at its import; once it is covered, the Doc scans clean and loads."""
    from safeload.catalog import source_analysis
    from safeload.catalog.closure import closure_covered

    source_analysis.clear_cache()
    data = pickle.dumps(nlp("Safeload scans the model."), protocol=5)
    result = safeload.scan(data)
    covered, why = closure_covered("spacy.lookups")
    if covered:
        assert result.is_safe(), result.summary()
        assert safeload.pickle_loads(data).to_bytes() == pickle.loads(data).to_bytes()
        return
    blocking = {f.subject for f in result.blocking()}
    assert blocking == {"spacy.lookups.Lookups"}, (why, result.findings)
    assert any("imported" in f.message for f in result.blocking()), result.findings


# the spaCy part of THIRD_PARTY_REVIEWED (catalog/_gen/closure.py): top-level package -> distribution
_SPACY_CLOSURE = {
    "thinc": "thinc", "srsly": "srsly", "catalogue": "catalogue", "confection": "confection", "wasabi": "wasabi",
    "weasel": "weasel", "typer": "typer", "click": "click", "shellingham": "shellingham",
    "annotated_doc": "annotated-doc", "pydantic": "pydantic", "pydantic_core": "pydantic_core",
    "annotated_types": "annotated-types", "typing_inspection": "typing-inspection", "requests": "requests",
    "charset_normalizer": "charset-normalizer", "httpx": "httpx", "zstandard": "zstandard", "zipp": "zipp",
    "blis": "blis", "cymem": "cymem", "preshed": "preshed", "murmurhash": "murmurhash",
}


def test_the_closure_reviews_name_the_installed_versions() -> None:
    """Each third-party review of spaCy's closure names the distribution and version that was read."""
    from importlib.metadata import version

    from safeload.catalog._gen.closure import THIRD_PARTY_REVIEWED

    for top, dist in _SPACY_CLOSURE.items():
        note = THIRD_PARTY_REVIEWED[top]
        assert note.startswith(f"{dist} {version(dist)} "), (top, note[:60])


@pytest.fixture(scope="module")
def spacy_closure() -> Any:
    """The generator's closure walk over spaCy with the reviewed territory, computed once for the module: it reads
    source along ``sys.path`` and imports nothing, so it does not depend on the ``search`` list each test below
    checks its leaves against (about a minute of CPU: the two parameters shared one walk's result)."""
    from safeload.catalog._gen.closure import THIRD_PARTY_REVIEWED, compute

    territory = set(THIRD_PARTY_REVIEWED) | set(IMPORT_REVIEWED)
    return territory, compute(["spacy"], territory)


@pytest.mark.slow
@pytest.mark.parametrize("with_setuptools_vendor", [False, True])
def test_spacy_import_closure_stays_in_reviewed_territory_except_h5py(with_setuptools_vendor: bool,
                                                                      spacy_closure: Any) -> None:
    """The generator's walk (catalog/_gen/closure.compute, reading source, importing nothing) over spaCy with
    the reviewed territory: the modules a spaCy pickle imports reach no installed package outside it but h5py
    (through thinc.compat's guarded import), which is reviewed separately (branch h5mpl). Also in a process that
    imported setuptools, which appends its ``_vendor`` directory (a pkgutil-style ``backports`` namespace holding
    only ``tarfile``) to sys.path: smart_open's ``from backports import zstd`` still reaches nothing installed."""
    import sysconfig

    from safeload.catalog.closure import _present

    search = [p for p in sys.path if not p.endswith(os.path.join("setuptools", "_vendor"))]
    if with_setuptools_vendor:
        vendor = os.path.join(sysconfig.get_paths()["purelib"], "setuptools", "_vendor")
        assert os.path.isdir(os.path.join(vendor, "backports")), vendor
        search.append(vendor)
    territory, closure = spacy_closure
    allowed = set() if "h5py" in territory else {"h5py"}
    assert any("backports.zstd" in closure.leaves.get(m, ()) for m in closure.leaves), "the premise changed"
    for module in ("spacy", "spacy.lookups", "spacy.vocab", "spacy.tokens.doc", "spacy.lang.en",
                   "spacy.lang.en.syntax_iterators", "spacy.lang.lex_attrs", "spacy.util", "spacy.language"):
        present = {o for o in closure.leaves.get(module, ()) if _present(o, tuple(search))}
        assert present <= allowed, (module, present)


def test_the_reviewed_site_import_is_territory_but_site_stays_denied(tmp_path: Path) -> None:
    """weasel.cli.remote_storage's `import site` is reviewed (STDLIB_IMPORTS_REVIEWED): the closure walk treats
    it as territory. The name stays denied: a file calling site's functions is refused, nothing runs."""
    from safeload.catalog._gen.closure import _outside
    from safeload.catalog.source_tables import denied_module_reason

    assert _outside("site", frozenset()) is None
    assert _outside("sitecustomize", frozenset()) == "sitecustomize"
    assert denied_module_reason("site") is not None
    marker = tmp_path / "marker"
    refused(assemble(C(G("site", "addsitedir"), (str(marker),))), marker)
    assert str(marker) not in sys.path  # what addsitedir would have done
    refused(assemble(C(G("site", "main"), ())), marker)
    refused(assemble(C(G("weasel.cli.remote_storage", "get_site_hash"), ())), marker)


def test_no_pydantic_plugin_is_installed() -> None:
    """The premise of pydantic's review: building spaCy's schema models at import runs pydantic's plugin loader,
    which imports every `pydantic` entry point; none is installed (a plugin would be unreviewed code the closure
    table cannot see)."""
    from importlib.metadata import entry_points

    assert list(entry_points(group="pydantic")) == []


@pytest.mark.usefixtures("loose_imports")
def test_spacy_docs_and_vocab_load_and_equal_the_plain_load(nlp: Any) -> None:
    from spacy.tokens import Span

    doc = nlp("Safeload scans the model. Then it loads it.")
    ents = nlp("Ada Lovelace lives in London.")
    ents.ents = [Span(ents, 0, 2, label="PERSON"), Span(ents, 4, 5, label="GPE")]
    for obj in (doc, ents, doc[0:3].as_doc(), nlp.vocab):
        for protocol in (2, 4, 5):
            data = pickle.dumps(obj, protocol=protocol)
            assert safeload.scan(data).is_safe()
            assert safeload.pickle_loads(data).to_bytes() == pickle.loads(data).to_bytes()


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
def test_unpickle_vocab_scans_its_nested_lex_attr_getters(nlp: Any, tmp_path: Path) -> None:
    """A payload in the nested pickle is found by the nested scan (protocol 2 and 5 outer pickles)."""
    from spacy.vocab import unpickle_vocab

    marker = tmp_path / "marker"
    for inner in (assemble(_payload(marker)), assemble({1: _payload(marker)}),
                  assemble({1: C(G("functools", "partial"), (G("os", "system"), "true"))})):
        args = _vocab_args(nlp)
        args[4] = inner
        for protocol in (2, 5):
            refused(pickle.dumps(_Reduce(unpickle_vocab, *args), protocol=protocol), marker, by_payload=True)


def test_unpickle_vocab_refuses_functions_pickled_by_value(nlp: Any, tmp_path: Path) -> None:
    """cloudpickle (what srsly.pickle_dumps is) pickles a lambda by value: its code object is rebuilt at load."""
    import srsly
    from spacy.vocab import unpickle_vocab

    marker = tmp_path / "marker"
    target = str(marker)
    args = _vocab_args(nlp)
    args[4] = srsly.pickle_dumps({1: lambda s: (open(target, "w").close(), s)[1]})
    data = pickle.dumps(_Reduce(unpickle_vocab, *args), protocol=5)
    result = safeload.scan(data)
    assert any(f.rule_id == "SL106" and (f.subject or "").startswith("srsly.cloudpickle.")
               for f in result.findings), result.findings  # srsly's vendored cloudpickle is denied, not unknown
    refused(data, marker)


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


def test_unpickle_vocab_refuses_bytes_only_known_at_load_time(nlp: Any, tmp_path: Path) -> None:
    """The nested argument must be bytes in the file: a value computed at load cannot be scanned (SL103)."""
    marker = tmp_path / "marker"
    args: list[Any] = [C(G("spacy.strings", "StringStore"), ([],)), None, None, None,
                       C(G("builtins", "bytes"), ([128, 2, 78, 46],)), None, None]
    data = assemble(C(G("spacy.vocab", "unpickle_vocab"), tuple(args)))
    result = safeload.scan(data)
    assert not result.is_safe()
    assert any(f.rule_id == "SL103" for f in result.findings), result.findings
    refused(data, marker)
    # fewer arguments than the nested position: nothing to scan, refused too
    refused(assemble(C(G("spacy.vocab", "unpickle_vocab"), (None, None, None, None))), marker)


@pytest.mark.usefixtures("loose_imports")
def test_unpickle_vocab_checks_the_callables_it_stores(nlp: Any, tmp_path: Path) -> None:
    """get_noun_chunks is stored and called later: only a reviewed iterator may be there."""
    marker = tmp_path / "marker"
    from spacy.vocab import unpickle_vocab

    for hostile in (functools.partial(pathlib.Path.touch, marker), os.system, eval):
        args = _vocab_args(nlp)
        args[6] = hostile
        refused(pickle.dumps(_Reduce(unpickle_vocab, *args), protocol=5), marker, by_payload=True)
    args = _vocab_args(nlp)
    data = bytearray(pickle.dumps(_Reduce(unpickle_vocab, *args[:6], None), protocol=5))
    assert safeload.scan(bytes(data)).is_safe()  # the control: the same file without a hook is admitted


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
@pytest.mark.usefixtures("loose_imports")
def test_unpickle_doc_scans_its_nested_hooks(nlp: Any, tmp_path: Path) -> None:
    """user_data and the Doc/Span/Token hooks come from a nested pickle: a payload or a hostile hook there is
    refused; so are hooks pickled by value."""
    import srsly
    from spacy.tokens.doc import unpickle_doc

    marker = tmp_path / "marker"
    target = str(marker)
    doc = nlp("Safeload scans the model.")
    from spacy.tokens.doc import pickle_doc

    _, (vocab, hooks, body) = pickle_doc(doc)
    assert safeload.scan(pickle.dumps(_Reduce(unpickle_doc, vocab, hooks, body), protocol=5)).is_safe()
    for inner in (assemble(({}, {"vector": _payload(marker)}, {}, {})),
                  assemble(({}, {"vector": C(G("functools", "partial"), (G("os", "system"), "true"))}, {}, {})),
                  pickle.dumps(({}, {"vector": functools.partial(pathlib.Path.touch, marker)}, {}, {})),
                  srsly.pickle_dumps(({}, {"vector": lambda d: open(target, "w")}, {}, {})),
                  assemble(_payload(marker))):
        refused(pickle.dumps(_Reduce(unpickle_doc, vocab, inner, body), protocol=5), marker, by_payload=True)
    # the hooks argument computed at load time: not scannable
    refused(assemble(C(G("spacy.tokens.doc", "unpickle_doc"),
                       (None, C(G("builtins", "bytes"), ([128, 2, 78, 46],)), b""))), marker)


def test_unpickle_doc_with_a_payload_in_the_vocab_or_body_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    empty = pickle.dumps(({}, {}, {}, {}), protocol=5)
    refused(assemble(C(G("spacy.tokens.doc", "unpickle_doc"), (_payload(marker), empty, b""))), marker)
    refused(assemble(C(G("spacy.tokens.doc", "unpickle_doc"), (None, empty, _payload(marker)))), marker)


# --- the other reconstructors -------------------------------------------------------------------------------------
def test_the_other_reconstructors_refuse_payload_arguments(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    refused(assemble(C(G("spacy.strings", "StringStore"), ([_payload(marker)],))), marker)
    refused(assemble(C(G("spacy.strings", "StringStore"), (_payload(marker),))), marker)
    refused(assemble(C(G("spacy.vectors", "unpickle_vectors"), (_payload(marker),))), marker)
    store = C(G("spacy.strings", "StringStore"), (["a"],))
    refused(assemble(C(G("spacy.morphology", "unpickle_morphology"), (store, [_payload(marker)]))), marker)
    refused(assemble(C(G("spacy.morphology", "unpickle_morphology"), (_payload(marker), []))), marker)


def test_wrong_types_to_the_reconstructors_raise_and_run_nothing(tmp_path: Path) -> None:
    """Admitted with harmless wrong values, spaCy's own type checks raise; nothing runs."""
    marker = tmp_path / "marker"
    for data, error in ((assemble(C(G("spacy.strings", "StringStore"), ([1, 2],))), TypeError),
                        (assemble(C(G("spacy.morphology", "unpickle_morphology"), ("not a store", []))), TypeError),
                        (assemble(C(G("spacy.vectors", "unpickle_vectors"), (b"\x00\x01",))), Exception)):
        if safeload.scan(data).is_safe():
            with pytest.raises(error):
                safeload.pickle_loads(data)
    assert not marker.exists()


def test_reviewed_names_are_not_admitted_for_other_uses(tmp_path: Path) -> None:
    """noun_chunks and the lexical getters are reviewed as stored callables (INVOKE), not for a call by the
    file; the reconstructors are not reviewed for NEW/BUILD."""
    marker = tmp_path / "marker"
    for module, name in (("spacy.lang.en.syntax_iterators", "noun_chunks"), ("spacy.util", "_get_attr_unless_lookup")):
        refused(assemble(C(G(module, name), (_payload(marker),))), marker)
    refused(assemble(C(G("spacy.util", "_get_attr_unless_lookup"), (G("os", "system"), {}, "true"))), marker)
    for name in ("spacy.tokens.doc.unpickle_doc", "spacy.vocab.unpickle_vocab", "spacy.strings.StringStore"):
        uses = REVIEWED[name].uses
        assert not uses & (Use.NEW | Use.BUILD | Use.MUTATE | Use.ALLOC), name


def test_a_spacy_language_outside_the_review_is_analysed() -> None:
    """spacy.lang.de is not loaded by `import spacy, spacy.lang.en`: the vouch does not cover it."""
    assert import_not_covered("spacy.lang.de.syntax_iterators")
    assert catalogue_view("spacy.lang.de.syntax_iterators", Use.IMPORT) is None


def test_the_nested_result_is_ranked_as_passed_to_its_loader(tmp_path: Path) -> None:
    """unpickle_doc unpacks the nested result and dict.update()s the hooks from it: objects there are passed
    values. A transformers config is admitted for NEW/BUILD but not to be passed (its __getattribute__ hooks): fine
    as a pickle's own result, refused in the nested stream."""
    pytest.importorskip("transformers")
    config = C(G("copyreg", "__newobj__"), (G("transformers.models.bert.configuration_bert", "BertConfig"),))
    inner = assemble(({"k": config}, {}, {}, {}))
    assert safeload.scan(inner).is_safe()
    outer = assemble(C(G("spacy.tokens.doc", "unpickle_doc"), (None, inner, b"")))
    result = safeload.scan(outer)
    assert not result.is_safe()
    assert any(f.rule_id == "SL115" and "passed" in f.message and "BertConfig" in (f.subject or "")
               for f in result.blocking()), result.summary()
    refused(outer, tmp_path / "marker")
