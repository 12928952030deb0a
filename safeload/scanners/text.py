"""Text content (JSON and YAML configs, tokenizers, READMEs, vocabularies): not a model, reported as skipped.

Routing is by content (``_sniff.looks_like_text`` after every model format, protocol-0 pickles included, has
been ruled out); the file name only labels what kind of text it is. This scanner checks that the *whole* buffer
is text (a binary body behind a text head is unknown content, SL003) and flags YAML ``python/`` tags, which
PyYAML's unsafe loaders turn into calls (SL812).

Invariant: nothing is parsed beyond UTF-8 decoding in bounded chunks and a regex search per chunk; no JSON or
YAML parser runs on the file.
"""

from __future__ import annotations

import codecs
import posixpath
import re
from typing import Any

from safeload._context import ScanContext
from safeload._sniff import FIRST_OPCODES

__all__ = ["describe_text", "scan_text"]

_CHUNK = 1 << 20
_PICKLE_STARTS = FIRST_OPCODES | {ord("i")}
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
# YAML tags (``!!python/...``, ``!<tag:...>``, ``!h!suffix``) and %TAG directives. PyYAML percent-decodes tag
# URIs (``!!python%2Fobject``), and a %TAG handle can hold any part of ``tag:yaml.org,2002:python/``, so every
# tag is decoded and searched for "python", and every %TAG directive is reported. A tag starts a node: "!" after
# "#" or a quote ("#!/usr/bin/env python" in a JSON string) is not one.
# "!" first (a literal prefix the regex engine scans for quickly), then the character before it: a node starts
# after whitespace or a flow indicator (the start of the text is checked apart).
_TAG = re.compile(rb"!(?<=[\s\[{,]!)(?:<[^>\s]{0,512}>|[^\s,\[\]{}]{0,512})")
_FIRST_TAG = re.compile(rb"!(?:<[^>\s]{0,512}>|[^\s,\[\]{}]{0,512})")
_TAG_DIRECTIVE = re.compile(rb"(?m)^%TAG[ \t]")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_OVERLAP = 600
_KINDS = {".json": "JSON", ".jsonl": "JSON lines", ".yaml": "YAML", ".yml": "YAML", ".md": "Markdown",
          ".txt": "text", ".toml": "TOML", ".py": "Python source", ".csv": "CSV", ".model": "text"}
_PROSE = frozenset({"Markdown", "text", "Python source", "CSV"})  # documents that mention a tag, never load one
_CONFIG_NAMES = ("config", "tokenizer", "special_tokens_map", "generation_config", "preprocessor_config",
                 "trainer_state", "adapter_config", "vocab", "merges")


def _python_tag(text: bytes) -> bool:
    """A YAML tag that names python/ (after PyYAML's percent-decoding), or a %TAG directive."""
    if b"!" not in text and b"%TAG" not in text:
        return False
    if b"%TAG" in text and _TAG_DIRECTIVE.search(text):
        return True
    first = _FIRST_TAG.match(text)
    for match in ([first] if first else []) + list(_TAG.finditer(text)):
        tag = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(0))
        if b"python" in tag.lower():
            return True
    return False


def view_of(data: Any) -> Any:
    return data if isinstance(data, bytes) else memoryview(data)


def describe_text(data: Any, name: str | None) -> str:
    """A label for the kind of text: ``JSON config``, ``YAML``, ``Markdown``, ``text``..."""
    base = posixpath.basename((name or "").replace("\\", "/")).lower()
    kind = next((label for ext, label in _KINDS.items() if base.endswith(ext)), "")
    if not kind:
        first = bytes(data[:256]).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        kind = "JSON" if first in (b"{", b"[") else "text"
    if kind == "JSON" and base.startswith(_CONFIG_NAMES):
        kind = "JSON config"
    return kind


def scan_text(data: Any, ctx: ScanContext, name: str | None = None) -> None:
    """The whole buffer must be text; then it is "not a model" (SL810), plus SL812 for YAML python tags.

    Only text whose first byte no unpickler can start with is "not a model" (JSON's ``{``/``[``, ``#``, ``-``,
    ``*``, most letters): text that starts like a pickle (``(``, ``c``, ``S``, ``I``..., and ``i``, whose INST the
    pure-Python unpickler imports before it looks for the mark) is unknown content, SL003, as it always was.
    """
    if len(view_of(data)) and view_of(data)[0] in _PICKLE_STARTS:
        ctx.add("SL003", "text that starts like a pickle (a first opcode an unpickler runs): safeload cannot "
                "vouch for it", details={"format": "unknown"})
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = data if isinstance(data, bytes) else memoryview(data)
    size = len(view)
    tagged = False
    previous = b""
    for start in range(0, size, _CHUNK):
        ctx.check_time()
        chunk = bytes(view[start:start + _CHUNK])
        # bytes.translate deletes in C at memory speed; the regex only locates a control byte once one is there
        bad = _CONTROL.search(chunk) if len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk) else None
        try:
            decoder.decode(chunk, final=start + _CHUNK >= size)
        except UnicodeDecodeError as exc:
            bad_at = start + exc.start
        else:
            bad_at = -1 if bad is None else start + bad.start()
        if bad is not None:
            bad_at = start + bad.start() if bad_at < 0 else min(bad_at, start + bad.start())
        if bad_at >= 0:
            ctx.add("SL003", f"text up to byte {bad_at}, then binary content; safeload cannot vouch for it",
                    details={"format": "unknown"}, offset=bad_at)
            return
        tagged = tagged or _python_tag(previous[-_OVERLAP:] + chunk)
        previous = chunk
    kind = describe_text(view, name)
    if tagged and kind not in _PROSE:
        ctx.add("SL812", f"{kind} with a YAML python/ tag or %TAG directive: yaml.unsafe_load would call what it "
                "names",
                subject="yaml:python-tag")
    ctx.add("SL810", f"not a model: {kind}", details={"kind": kind})
