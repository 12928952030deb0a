"""Refusals a person can act on (issue 16): the subject once, the call with its arguments, where it is in
words, the rule's documentation, the fix for *that* finding, and the trust hint in every rendering."""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

import pytest

import safeload
from safeload.rules import get_rule
from tests.builders import P


class Evil:
    def __init__(self, cmd: str) -> None:
        self.cmd = cmd

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (self.cmd,)


class Custom:
    pass


def _refusal(data: bytes) -> safeload.UnsafeModelError:
    with pytest.raises(safeload.UnsafeModelError) as info:
        safeload.pickle_loads(data)
    return info.value


def test_exec_refusal_shows_the_call_once_with_its_arguments_and_a_link() -> None:
    err = _refusal(pickle.dumps(Evil("touch /tmp/never")))
    text = str(err)
    assert "posix.system('touch /tmp/never')" in text
    assert text.count("posix.system") == 1, text          # subject once, not "x - x: ..."
    assert "(matched" not in text                           # no internal matcher detail
    assert "byte " in text and "@" not in text.split("\n")[1]
    assert get_rule("SL101").help_uri in text
    assert "How to fix" in text and "Do not load this file" in text
    assert "1 finding at or above MEDIUM" in text           # singular, not "1 finding(s)"


def test_trustable_refusal_gives_the_trust_line_and_the_reviewed_fix() -> None:
    err = _refusal(pickle.dumps(Custom()))
    text = str(err)
    assert f"trusted=['{Custom.__module__}.Custom']" in text
    assert "reviewed the named code" in text
    html = err._repr_html_()
    assert "trusted=[" in html and "How to fix" in html
    assert "How to fix" in err._repr_markdown_()


def test_keras_lambda_is_told_how_to_fix_a_lambda_not_to_prefer_safetensors() -> None:
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "config": {
            "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTAKkBTqkAKQHaAXhyAgAAAHICAAAA+gE8cwEAAAAB",
            "defaults": None, "closure": None}}}}]}}
    from safeload._context import ScanContext
    from safeload.exceptions import UnsafeKerasModelError
    from safeload.scanners.keras import scan_keras_config

    ctx = ScanContext(safeload.Policy(), "model.keras")
    scan_keras_config(json.dumps(config).encode(), ctx)
    err = UnsafeKerasModelError(ctx.result(), safeload.Severity.MEDIUM, "keras.saving.load_model")
    text = str(err)
    assert "load_weights" in text and "safetensors" not in text


def test_many_same_rule_findings_share_one_fix_line() -> None:
    data = (P(4).stack_global("os", "system").pop().stack_global("subprocess", "Popen").pop()
            .none().stop().done())
    err = _refusal(data)
    assert sum(line.startswith("  - SL101") for line in str(err).splitlines()) == 1
