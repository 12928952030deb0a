"""Red team round 12 (rt12): attacks on the argument contracts, the integrity and trust changes, the containers.

Every attack is live: the plain loader (``pickle.load`` in a fresh interpreter) shows the effect (a marker file, or
a load that does not finish within the timeout); scanned or loaded through safeload it is refused.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tests.test_redteam_round11 import _plain_load_times_out
from tests.test_sympy_contract import refused

pytest.importorskip("sympy")


# --- R12-1: a sum folds its numbers one at a time ---------------------------------------------------------------
# AssocOp.flatten (Add, Mul) folds the numeric arguments into one coefficient term by term: Rational.__add__ makes
# Rational(p1*q2 + p2*q1, q1*q2), a gcd of the growing numbers per term. n terms 1/p with distinct primes p make a
# denominator of n*16 bits: about n * B**2 * 1e-13 s (3 s for n = 3200, B ~ 65000). The bits bound admits it
# (each Rational(1, p) is 20 bits, the Add's bound 3200 * 20 + 12 <= 2**16) and the work budget charged it 2n + 1
# slots (its size): ten such sums in one list fit the 2**16 slots and take ~30 s of CPU to load.
def rational_sums(count: int, terms: int) -> bytes:
    import sympy

    primes = list(sympy.sieve.primerange(2**15, 2**18))
    return pickle.dumps([sympy.Add(*[sympy.Rational(1, p) for p in primes[j:j + terms]], evaluate=False)
                         for j in range(count)], protocol=4)


@pytest.mark.slow  # the live twin runs 10 s
def test_r12_1_folding_many_numbers_is_bounded(tmp_path: Path) -> None:
    data = rational_sums(10, 3200)
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert refused(data)


def test_r12_1_one_long_sum_of_fractions_is_refused() -> None:
    """One sum of 3200 fractions (3 s of load) is refused by its own numeric charge."""
    assert any(item.endswith("SL115") for item in refused(rational_sums(1, 3200)))


def test_r12_1_ordinary_sums_with_numbers_stay_admitted() -> None:
    """Polynomials with small coefficients, a sum of a few hundred fractions and big integers a few times stay
    admitted (the charge is n * B**2 / 10**7 slots)."""
    import sympy

    x, y = sympy.symbols("x y")
    small = sympy.Add(*[sympy.Rational(1, p) for p in sympy.sieve.primerange(2, 2000)], evaluate=False)
    admitted = [3 * x**2 + sympy.Rational(1, 7) * x * y - 12, small, sympy.Integer(2**1000) * x + 2**999,
                sympy.Add(*[sympy.Integer(i) * sympy.Symbol(f"z{i}") for i in range(300)])]
    assert not refused(pickle.dumps(admitted, protocol=4))
