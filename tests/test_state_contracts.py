"""BUILD state contracts (catalog/state_contracts.py): scipy distributions exec their ``_parse_arg_template``.

Real scipy: every distribution scipy ships is pickled by its own ``__getstate__`` and must pass; the attacks swap
the template (or the shapes it must agree with) and must be refused with SL115 without running.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

import safeload
from safeload.catalog.entries import lookup
from safeload.catalog.state_contracts import refusal

scipy_stats = pytest.importorskip("scipy.stats")
from scipy.stats._distn_infrastructure import rv_generic  # noqa: E402


def _distributions() -> list[Any]:
    return sorted((obj for obj in vars(scipy_stats).values() if isinstance(obj, rv_generic)),
                  key=lambda d: d.name)


def _contract(dist: Any) -> tuple[str, tuple[str, ...]]:
    cls = type(dist)
    entry = lookup(f"{cls.__module__}.{cls.__qualname__}")
    assert entry is not None and entry.build_state is not None and entry.build_dict_only, cls
    return entry.build_state


def test_every_scipy_distribution_state_is_admitted() -> None:
    dists = _distributions()
    assert len(dists) > 100
    for dist in dists:
        contract, data = _contract(dist)
        state = dist.__getstate__()
        assert "_parse_arg_template" in state
        assert refusal(contract, data, state) is None, dist.name


def _state(name: str = "gamma") -> tuple[tuple[str, tuple[str, ...]], dict[str, Any]]:
    dist = getattr(scipy_stats, name)
    return _contract(dist), dict(dist.__getstate__())


@pytest.mark.parametrize("mutate", [
    lambda t: t + "\nopen('MARKER', 'w').close()\n",
    lambda t: "import os\n" + t,
    lambda t: t.replace("(self, a, ", "(self, a=__import__('os').system('true'), ", 1),
    lambda t: t.replace("a, ", "a, __import__('os'), ", 1),
    lambda t: t.replace("moments='mv'", "moments=print('x')"),
    lambda t: t.replace("loc=0, scale=1", "loc=exec('1'), scale=1"),
    lambda t: t.replace("a, ", "class_, ").replace("a, ", "class_, "),  # shapes disagree with state['shapes']
    lambda t: t.replace("a, ", "for, "),
])
def test_a_changed_template_is_refused(mutate: Any) -> None:
    (contract, data), state = _state()
    state["_parse_arg_template"] = mutate(state["_parse_arg_template"])
    assert refusal(contract, data, state) is not None


def test_shapes_must_agree_and_be_identifiers() -> None:
    (contract, data), state = _state()
    for shapes in ("b", "a, b", "__import__('os')", 3):
        assert refusal(contract, data, state | {"shapes": shapes}) is not None, shapes
    assert refusal(contract, data, state | {"shapes": None}) is not None  # gamma has a shape
    (contract, data), norm = _state("norm")
    assert refusal(contract, data, norm | {"shapes": None}) is None


def test_a_missing_or_non_string_template_is_refused() -> None:
    (contract, data), state = _state()
    assert refusal(contract, data, {k: v for k, v in state.items() if k != "_parse_arg_template"}) is not None
    assert refusal(contract, data, state | {"_parse_arg_template": b"x"}) is not None
    assert refusal("no_such_contract", data, state) is not None
    assert refusal(contract, (), state) is not None


def test_a_discrete_template_on_a_continuous_distribution_shape_set() -> None:
    """Both locscale pairs are scipy's; either is admitted for any distribution (the text is still only the three
    argument parsers), but a mixed pair is not one _construct_argparser renders."""
    (contract, data), state = _state("norm")
    text = state["_parse_arg_template"]
    assert refusal(contract, data, state | {"_parse_arg_template": text.replace("loc, scale", "loc, 1")}) is not None


def _blocking(path: Path) -> list[str]:
    report = safeload.scan(str(path))
    return [f.rule_id for f in report.findings if f.severity >= safeload.Severity.MEDIUM]


@pytest.mark.parametrize("name", ["norm", "gamma", "poisson", "uniform"])
def test_real_pickled_distributions_scan_clean_and_load(tmp_path: Path, name: str) -> None:
    dist = getattr(scipy_stats, name)
    path = tmp_path / "dist.pkl"
    path.write_bytes(pickle.dumps(dist))
    assert _blocking(path) == []
    with open(path, "rb") as f:
        loaded = safeload.pickle_load(f)
    assert type(loaded) is type(dist)
    frozen = tmp_path / "frozen.pkl"
    frozen.write_bytes(pickle.dumps(dist(*([2.0] * dist.numargs))))
    assert _blocking(frozen) == []


def test_a_template_not_matching_the_shapes_is_refused_by_scan(tmp_path: Path) -> None:
    from tests.attacks import C, G, assemble

    marker = tmp_path / "MARKER"
    state = dict(scipy_stats.gamma.__getstate__())
    template = state["_parse_arg_template"]
    state = {k: v for k, v in state.items() if type(v) in (str, int, float, bool, type(None))}
    state["_parse_arg_template"] = template.replace(
        "(self, a, ", f"(self, a=open({str(marker)!r}, 'w').close(), ", 1)
    path = tmp_path / "model.pkl"
    path.write_bytes(assemble(C(G("copyreg", "_reconstructor"),
                                (G("scipy.stats._continuous_distns", "gamma_gen"), G("builtins", "object"), None),
                                state)))
    assert "SL115" in _blocking(path)
    with pytest.raises(safeload.SafeloadError), open(path, "rb") as f:
        safeload.pickle_load(f)
    assert not marker.exists()


def test_a_subclass_inheriting_the_contract_setstate_is_not_admitted_by_the_base(tmp_path: Path) -> None:
    """A library class deriving from a catalogued distribution inherits rv_generic.__setstate__: the source
    analysis must not admit its BUILD on the strength of the base's entry, whose permission holds only under the
    state contract the engine checks for the base's own name."""
    from tests.attacks import C, G, assemble
    from tests.test_redteam_round2 import _run

    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "atk_dist").mkdir(parents=True)
    (site / "atk_dist" / "__init__.py").write_text("")
    (site / "atk_dist" / "m.py").write_text(
        "from scipy.stats._continuous_distns import norm_gen\n\n\nclass my_gen(norm_gen):\n    pass\n")
    marker = tmp_path / "MARKER"
    payload = tmp_path / "payload.pkl"
    payload.write_bytes(assemble(C(G("copyreg", "_reconstructor"),
                                   (G("atk_dist.m", "my_gen"), G("builtins", "object"), None),
                                   {"_parse_arg_template": f"open({str(marker)!r}, 'w').close()"})))
    live = _run(site, f"import pickle\ntry:\n    pickle.load(open({str(payload)!r}, 'rb'))\nexcept Exception:\n"
                      "    pass\n")
    assert live.returncode == 0 and marker.exists(), live.stderr[-2000:]
    marker.unlink()
    done = _run(site, "import json, safeload\n"
                      f"r = safeload.scan({str(payload)!r})\n"
                      "print(json.dumps([f.rule_id for f in r.findings if f.severity >= safeload.Severity.MEDIUM]))\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]), done.stdout
    assert not marker.exists()
