"""numpy names real files contain: array and scalar reconstruction, dtypes, random state."""

from __future__ import annotations

from safeload.catalog._types import PrefixRule

EXACT: frozenset[str] = frozenset(
    f"{core}.{name}"
    for core in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar", "ndarray", "dtype")
) | frozenset(
    """
    numpy.ndarray numpy.dtype numpy.matrix numpy.ma.core._mareconstruct numpy.ma.core.MaskedArray
    numpy.ma.core.MaskedConstant numpy.core.records.recarray numpy._core.records.recarray numpy.recarray
    numpy.core.numeric._frombuffer numpy._core.numeric._frombuffer numpy.core.multiarray._frombuffer
    numpy.random._pickle.__randomstate_ctor numpy.random._pickle.__bit_generator_ctor
    numpy.random._pickle.__generator_ctor numpy.random.mtrand.RandomState numpy.random._generator.Generator
    numpy.random._mt19937.MT19937 numpy.random._pcg64.PCG64 numpy.random._pcg64.PCG64DXSM
    numpy.random._philox.Philox numpy.random._sfc64.SFC64 numpy.random.bit_generator.SeedSequence
    numpy.random.mtrand._rand numpy.random.__RandomState_ctor
    numpy.bool_ numpy.int8 numpy.int16 numpy.int32 numpy.int64 numpy.uint8 numpy.uint16 numpy.uint32
    numpy.uint64 numpy.float16 numpy.float32 numpy.float64 numpy.longdouble numpy.complex64 numpy.complex128
    numpy.str_ numpy.bytes_ numpy.object_ numpy.void numpy.datetime64 numpy.timedelta64 numpy.intc numpy.uintc
    numpy.longlong numpy.ulonglong numpy.half numpy.single numpy.double numpy.bool numpy.float_ numpy.int_
    numpy.dtypes.Float64DType numpy.dtypes.Float32DType numpy.dtypes.Int64DType numpy.dtypes.Int32DType
    numpy.dtypes.ObjectDType numpy.dtypes.BoolDType numpy.dtypes.StrDType numpy.dtypes.UInt8DType
    numpy.core._internal._reconstruct numpy.matrixlib.defmatrix.matrix numpy.matrix numpy.memmap
    numpy.core.memmap.memmap numpy._core.memmap.memmap numpy.ma.core.MaskedArray numpy.ma.MaskedArray
    numpy.core.records.record numpy._core.records.record numpy.record
    numpy.random._pickle.__bit_generator_ctor numpy.random._pickle.__generator_ctor
    numpy.random.bit_generator.SeedlessSeedSequence numpy.random._mt19937.MT19937
    numpy.core.numerictypes.float64 numpy._core.numerictypes.float64
    """.split()
) | frozenset(
    # ufuncs pickled by reference (scikit-learn FunctionTransformer(numpy.log1p), ...): pure math.
    f"numpy.{name}" for name in
    """
    log log1p log2 log10 exp expm1 exp2 sqrt cbrt square abs absolute fabs negative reciprocal sign floor ceil
    rint trunc round around clip sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh
    add subtract multiply divide true_divide power maximum minimum mean median sum std var nanmean nanmedian
    argmax argmin amax amin max min
    """.split()
)

PREFIXES: tuple[PrefixRule, ...] = (PrefixRule("numpy.dtypes."),)

# numpy ufuncs are pickled by reference (numpy.log1p) and through _ufunc_reconstruct(module, name);
# the latter imports ``module`` and returns any attribute, so its arguments are checked (see classify).
UFUNC_RECONSTRUCTORS: frozenset[str] = frozenset({"numpy.core._ufunc_reconstruct", "numpy._core._ufunc_reconstruct"})
