"""Make attacker-controlled strings safe to show.

Invariant: every string that came out of a scanned file (global names, member names, layer configs) goes
through :func:`clean` before it reaches a terminal, log, notebook or report. ``clean`` removes the power of
control characters (ANSI escapes, carriage returns, bidi overrides) by rewriting them as visible escapes,
and bounds the length; the HTML and Markdown helpers escape their media's metacharacters on top of that.
"""

from __future__ import annotations

import functools
import re

__all__ = ["clean", "clean_html", "clean_markdown", "short_repr"]


# The patterns compile on first use (issue 15: a first safe load compiles no regular expression).
@functools.cache
def _unsafe() -> re.Pattern[str]:
    """C0 and C1 controls, DEL, and the Unicode bidi/formatting characters used in "trojan source" tricks.

    Every one of them is unprintable (``str.isprintable``: categories Cc and Cf), so a printable string has
    none and :func:`clean` skips the substitution for it."""
    return re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object, limit: int = 200) -> str:
    """Return ``text`` as a single printable line: control characters escaped, length bounded."""
    value = text if isinstance(text, str) else str(text)
    if len(value) > limit * 4:
        value = value[: limit * 4]
    if not value.isprintable():
        value = _unsafe().sub(_escape_char, value)
    if len(value) > limit:
        value = value[: limit - 1] + "\u2026"
    return value


def clean_html(text: object, limit: int = 200) -> str:
    """``clean`` plus HTML escaping (quotes included), for notebook tables and HTML reports."""
    import html  # html.entities is large; only notebooks and HTML reports need it

    return html.escape(clean(text, limit), quote=True)


@functools.cache
def _md_special() -> re.Pattern[str]:
    return re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def clean_markdown(text: object, limit: int = 200) -> str:
    """``clean`` plus Markdown escaping (pipes, backticks, brackets, HTML angle brackets)."""
    return _md_special().sub(r"\\\1", clean(text, limit))


def short_repr(value: object, limit: int = 80) -> str:
    """A bounded, cleaned ``repr`` that never recurses deeply (values from files can nest 10 000 levels)."""
    return clean(_bounded_repr(value, 3), limit)


def _bounded_repr(value: object, depth: int) -> str:
    kind = type(value)
    if kind.__name__ == "PlainList" and kind.__module__ == "safeload.engine._native":
        value = value.tolist()  # type: ignore[attr-defined]  # the native engine's stand-in for this list
    if isinstance(value, tuple | list):
        if depth <= 0:
            return "(...)" if isinstance(value, tuple) else "[...]"
        inner = ", ".join(_bounded_repr(item, depth - 1) for item in value[:6])
        if len(value) > 6:
            inner += ", ..."
        if isinstance(value, tuple):
            return f"({inner}{',' if len(value) == 1 else ''})"
        return f"[{inner}]"
    if isinstance(value, dict):
        if depth <= 0:
            return "{...}"
        items = list(value.items())[:6]
        inner = ", ".join(f"{_bounded_repr(k, depth - 1)}: {_bounded_repr(v, depth - 1)}" for k, v in items)
        return "{" + inner + (", ..." if len(value) > 6 else "") + "}"
    if isinstance(value, str | bytes | bytearray):
        return repr(value[:60]) + ("..." if len(value) > 60 else "")
    if kind is int and value.bit_length() > 256:  # type: ignore[attr-defined]
        # a file's int can exceed CPython's int-to-str limit (4300 digits): repr() would raise
        return f"<int of {value.bit_length()} bits>"  # type: ignore[attr-defined]
    return repr(value)
