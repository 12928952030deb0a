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


# --- R12-2: keys whose hashes collide by construction --------------------------------------------------------------
# Python hashes an int by its residue modulo M = 2**61 - 1 (unsalted): 5, 5 + M, 5 + 2M, ... share one hash, and a
# dict or set of k such keys costs k**2 / 2 equality tests to build. The engine modelled dict keys (tuple nesting,
# SL012) but never counted equal hashes:
# - plain int keys: both engines built the very same dict, so the scan cost what the load costs (40000 keys, a
#   520 KB file: ~11 s to scan, ~11 s to load; 80000 keys, 1 MB: 146 s to scan on this machine), and said SAFE;
# - allowed classes that compare in Python and hash the numbers the file gives (fractions.Fraction: hash(p) for
#   Fraction(p); uuid.UUID: hash(self.int), set by BUILD unchecked; sympy's Integer: hash(p), admitted by the
#   sympy_new contract with HASH): the engine hashed those keys by identity (fast), the loader runs a Python __eq__
#   per probe (20000 Fraction keys, 760 KB: 59 s of load).
# Fixed (engine/collisions.py): both engines count the distinct keys per load-time hash in a stream (objects of
# those classes by the hash derived from their arguments) before inserting them anywhere, and refuse the stream
# (SL020) past limits.max_key_collisions (128). tests/test_hash_collisions.py holds the variants.
_M = (1 << 61) - 1


def colliding_dict(count: int, key: object) -> bytes:
    """A protocol-4 dict of ``count`` keys ``key(5 + i*M)`` (each a term), values None."""
    from tests.pickle_terms import stream

    return stream(b"}(" + b"".join(key(5 + i * _M) + b"N" for i in range(count)) + b"u")  # type: ignore[operator]


def _key_terms() -> dict[str, object]:
    from tests.pickle_terms import lit, newobj, reduce

    return {
        "fraction": lambda n: reduce("fractions.Fraction", lit(n)),
        "uuid": lambda n: newobj("uuid.UUID") + b"}" + lit("int") + lit(n) + b"sb",
        "sympy-integer": lambda n: newobj("sympy.core.numbers.Integer", lit(n)),
    }


@pytest.mark.slow  # live twins: 10 s each
@pytest.mark.parametrize("kind", ["fraction", "uuid", "sympy-integer"])
def test_r12_2_colliding_object_keys(tmp_path: Path, kind: str) -> None:
    data = colliding_dict(30000, _key_terms()[kind])
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert any(item.endswith("SL020") for item in refused(data))  # both engines (refused() compares them)
    assert refused(colliding_dict(2000, _key_terms()[kind]))


@pytest.mark.slow  # the live twin runs 10 s
def test_r12_2_colliding_int_keys(tmp_path: Path) -> None:
    import time

    from tests.pickle_terms import lit

    data = colliding_dict(60000, lit)
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    started = time.perf_counter()
    assert any(item.endswith("SL020") for item in refused(data))  # both engines (refused() compares them)
    assert time.perf_counter() - started < 10  # was the load's k**2: minutes
    assert refused(colliding_dict(2000, lit))


# --- R12-3: key material without a signature checked nothing ------------------------------------------------------
# ``safeload.torch_load(path, public_key="publisher.pub")`` (or ``certificate=``, or a Sigstore ``identity=``)
# names how the publisher's signature is to be verified, but ``Integrity.wants_signature`` was only
# ``signature is not None or require_signature``: with no ``signature=`` the key was ignored, no session ran
# (``session_needed`` is False) and a substituted, unsigned file loaded. Fixed: key material requests the check
# (the signature is looked for beside the model as with ``require_signature``; none found refuses).
@pytest.mark.parametrize("given", ["public_key", "certificate", "identity"])
def test_r12_3_key_material_alone_requires_a_signature(tmp_path: Path, given: str) -> None:
    import safeload

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))  # substituted: nobody signed it
    key = tmp_path / "publisher.pem"
    key.write_text("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    with path.open("rb") as handle:
        assert pickle.load(handle) == {"weights": [1.0, 2.0]}  # live twin: the plain loader takes any file
    keywords: dict[str, object] = {
        "public_key": {"public_key": key}, "certificate": {"certificate": [key]},
        "identity": {"integrity": safeload.Integrity(identity="publisher@example.com",
                                                     oidc_issuer="https://accounts.example.com")}}[given]
    with path.open("rb") as handle, pytest.raises(safeload.IntegrityError) as info:
        safeload.pickle_load(handle, **keywords)  # type: ignore[arg-type]
    assert info.value.check == "signature"
    assert "requires a signature but none was found" in info.value.reason
    assert safeload.Integrity(public_key=str(key)).checks


# --- R12-4: an allowed value type computes without bound from a few bytes of text --------------------------------
# fractions.Fraction was admitted for any call (VALUE: "rebuilt from its fields"). Fraction.__new__ parses a str
# with its regex and, for an exponent, computes numerator * 10**exp: Fraction("1e300000000") (a 41-byte pickle)
# builds a 10**300000000 (a 125 MB int, minutes of CPU); a Decimal argument does the same in as_integer_ratio.
# Fixed: the fraction_value argument contract (REDUCE with plain ints of at most 2**16 bits, or "p"/"p/q" text).
def _fraction_attacks() -> dict[str, bytes]:
    from tests.pickle_terms import lit, newobj, reduce, stream

    return {
        "str-exponent": stream(reduce("fractions.Fraction", lit("1e300000000"))),
        "negative-exponent": stream(reduce("fractions.Fraction", lit("1e-300000000"))),
        "decimal": stream(reduce("fractions.Fraction", reduce("decimal.Decimal", lit("1e300000000")))),
        "newobj": stream(newobj("fractions.Fraction", lit("1e300000000"))),
    }


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("label", ["str-exponent", "negative-exponent", "decimal", "newobj"])
def test_r12_4_fraction_from_text_is_bounded(tmp_path: Path, label: str) -> None:
    data = _fraction_attacks()[label]
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert "fractions.Fraction SL115" in refused(data)


def test_r12_4_fraction_attacks_are_refused_and_pickled_fractions_load() -> None:
    import fractions

    import safeload

    for label, data in _fraction_attacks().items():
        assert "fractions.Fraction SL115" in refused(data), label
        with pytest.raises(safeload.UnsafeModelError):
            safeload.pickle_loads(data)
    honest = [fractions.Fraction(3, 7), fractions.Fraction(-5), {fractions.Fraction(1, 2): 1},
              fractions.Fraction(10**300, 7)]
    for protocol in (2, 4, 5):
        assert safeload.pickle_loads(pickle.dumps(honest, protocol=protocol)) == honest
    from tests.pickle_terms import lit, reduce, stream

    assert safeload.pickle_loads(stream(reduce("fractions.Fraction", lit("-3/7")))) == fractions.Fraction(-3, 7)


# --- R12-5: allowed allocators sized by one int of the file -------------------------------------------------------
# numpy.ones / numpy.full (allowed CALL), builtins.bytearray(n), builtins.list(builtins.range(n)) allocate what a
# single int of the file says: a 32-byte pickle asks numpy for 74.5 GiB (numpy.ones((100000, 100000))), and a size
# just under the machine's memory is filled (touched) at load. The live twin runs the plain loader with its address
# space capped at 1 GiB: each one fails with MemoryError (it tried to allocate far more); the scan reports nothing.
def _allocation_attacks() -> dict[str, bytes]:
    from tests.pickle_terms import lit, reduce, stream, tup

    return {
        "numpy-ones": stream(reduce("numpy.ones", tup(lit(100000), lit(100000)))),
        "numpy-full": stream(reduce("numpy.full", tup(lit(100000), lit(100000)), lit(1.0))),
        "bytearray": stream(reduce("builtins.bytearray", lit(1 << 36))),
        "list-range": stream(reduce("builtins.list", reduce("builtins.range", lit(1 << 34)))),
    }


def _plain_load_runs_out_of_memory(data: bytes, tmp_path: Path) -> bool:
    import os
    import subprocess
    import sys

    path = tmp_path / "alloc.pkl"
    path.write_bytes(data)
    script = ("import resource, pickle\nimport numpy\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              f"try:\n    pickle.load(open({str(path)!r}, 'rb'))\nexcept MemoryError:\n    print('MEMORY')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFELOAD_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, check=False, capture_output=True,
                          text=True)
    return "MEMORY" in done.stdout


@pytest.mark.parametrize("label", ["numpy-ones", "numpy-full", "bytearray", "list-range"])
def test_r12_5_allocation_sized_by_the_file(tmp_path: Path, label: str) -> None:
    pytest.importorskip("numpy")
    data = _allocation_attacks()[label]
    assert _plain_load_runs_out_of_memory(data, tmp_path), "the plain load did not try a large allocation"
    assert refused(data)


# --- R12-6: the codec a protocol 0-2 pickle names runs at load -----------------------------------------------------
# _codecs.encode (how protocols 0-2 pickle bytes: _codecs.encode(text, "latin1")) was admitted for any codec; the
# engine only declined to read bytes it cannot compute (R8-2). The call itself runs the codec the file names:
# punycode (and idna, which punycode-encodes each label before checking its length) encode in quadratic pure
# Python: 20000 CJK characters (a 60 KB pickle) take ~60 s. Fixed: the text_encode argument contract (a str with
# latin-1, utf-8 or ascii); reviewed.py's _results_are_data/_instances_are_callable rebuilt their Entry from five
# fields and would have dropped the contract (now ``replace``).
def _codec_attack(codec: str) -> bytes:
    from tests.pickle_terms import lit, reduce, stream

    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(20000))
    return stream(reduce("_codecs.encode", lit(text), lit(codec)))


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("codec", ["punycode", "idna"])
def test_r12_6_slow_codec_named_by_the_file(tmp_path: Path, codec: str) -> None:
    data = _codec_attack(codec)
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert "_codecs.encode SL115" in refused(data)


def test_r12_6_codecs_picklers_write_stay_admitted() -> None:
    import safeload
    from tests.pickle_terms import lit, reduce, stream

    for codec in ("punycode", "idna", "rot13", "utf-16"):
        assert "_codecs.encode SL115" in refused(stream(reduce("_codecs.encode", lit("abc"), lit(codec)))), codec
    for codec in ("latin1", "Latin-1", "iso8859_1", "utf-8", "UTF8", "ascii"):
        assert not refused(stream(reduce("_codecs.encode", lit("abc"), lit(codec)))), codec
    value = [b"\x00\xff abc", bytearray(b"xy"), {"k": b"v" * 100}]
    for protocol in (0, 1, 2):
        assert safeload.pickle_loads(pickle.dumps(value, protocol=protocol)) == value


# The same codecs through the builtins the catalogue admits as data: bytes(text, "punycode") and
# bytearray(text, "punycode") encode (18 KB, 5 s; 60 KB, ~60 s), str(data, "idna") decodes and re-encodes each label
# (5 s for a 6000-character label). Fixed in the engine (``Semantics._check_codec``): these builtins are admitted
# with latin-1, utf-8 or ascii and strict errors only.
def _builtin_codec_attack(name: str, codec: str, text: str) -> bytes:
    from tests.pickle_terms import lit, reduce, stream

    return stream(reduce(name, lit(text), lit(codec)))


@pytest.mark.slow  # the live twins run 10 s each
@pytest.mark.parametrize("name", ["builtins.bytes", "builtins.bytearray"])
def test_r12_6_builtin_encoding_with_a_slow_codec(tmp_path: Path, name: str) -> None:
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(20000))
    data = _builtin_codec_attack(name, "punycode", text)
    assert _plain_load_times_out(data, tmp_path, 10), "the plain load finished within 10 s"
    assert f"{name} SL115" in refused(data)


def test_r12_6_builtin_codecs_are_the_picklers() -> None:
    from tests.pickle_terms import lit, newobj, reduce, stream

    for name in ("builtins.bytes", "builtins.bytearray"):
        assert f"{name} SL115" in refused(_builtin_codec_attack(name, "punycode", "abc"))
        assert f"{name} SL115" in refused(_builtin_codec_attack(name, "idna", "abc"))
        assert not refused(_builtin_codec_attack(name, "latin-1", "abc"))
    idna = reduce("_codecs.encode", lit("xn--abc"), lit("latin1"))
    assert "builtins.str SL115" in refused(stream(reduce("builtins.str", idna, lit("idna"))))
    assert "builtins.str SL115" in refused(stream(newobj("builtins.str", idna, lit("idna"))))
    assert not refused(stream(reduce("builtins.str", lit(5))))


# And codecs.decode / _codecs.decode (admitted as decoders whose output the engine reads): the engine's own model
# ran the named codec too (``_run_decoder``: codecs.decode(raw, name)), so an idna label of 6000 characters took the
# scan 10 s and the load 5 s, and was admitted. Fixed: admitted with the pickler text codecs and hex, base64, zlib,
# bz2 only (``Semantics._decoder_codec_admitted``), never run otherwise.
def test_r12_6_decode_with_a_slow_codec_is_refused_without_running_it() -> None:
    import time

    from tests.pickle_terms import lit, reduce, stream

    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))
    label = "xn--" + text.encode("punycode").decode("ascii")
    for name in ("_codecs.decode", "codecs.decode"):
        data = stream(reduce(name, reduce("_codecs.encode", lit(label), lit("latin1")), lit("idna")))
        started = time.process_time()  # CPU seconds: another process on the same cores cannot inflate them
        assert f"{name} SL115" in refused(data)
        assert time.process_time() - started < 1.0  # the scan no longer runs the codec (it took ~1.3 s here)
    hexed = stream(reduce("codecs.decode", reduce("_codecs.encode", lit("6869"), lit("latin1")), lit("hex")))
    assert not refused(hexed)
