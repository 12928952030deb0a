"""Standard-library names that real model files contain and that are inert to call or reference."""

from __future__ import annotations

_BUILTIN_TYPES = (
    "object int float complex bool str bytes bytearray list dict tuple set frozenset slice range "
    "NotImplemented Ellipsis reversed enumerate zip"
)
_BUILTIN_EXCEPTIONS = (
    "Exception BaseException ValueError TypeError KeyError IndexError RuntimeError AttributeError "
    "NotImplementedError AssertionError ArithmeticError ZeroDivisionError OverflowError LookupError "
    "UserWarning Warning DeprecationWarning FutureWarning StopIteration"
)

EXACT: frozenset[str] = frozenset(
    [f"builtins.{n}" for n in (_BUILTIN_TYPES + " " + _BUILTIN_EXCEPTIONS).split()]
    + """
    collections.OrderedDict collections.defaultdict collections.Counter collections.deque collections.ChainMap
    collections.UserDict collections.UserList collections.UserString
    datetime.datetime datetime.date datetime.time datetime.timedelta datetime.timezone
    decimal.Decimal fractions.Fraction uuid.UUID ipaddress.IPv4Address ipaddress.IPv6Address
    copyreg._reconstructor copyreg.__newobj__ copyreg.__newobj_ex__ functools.partial dill._dill._create_array
    _codecs.encode codecs.encode
    array.array array._array_reconstructor
    argparse.Namespace types.SimpleNamespace types.MappingProxyType
    pathlib.Path pathlib.PosixPath pathlib.WindowsPath pathlib.PurePath pathlib.PurePosixPath pathlib.PureWindowsPath
    re._compile re.compile re.Pattern sre_compile.compile
    enum.Enum enum.IntEnum enum.Flag enum.IntFlag
    typing.Any typing.Union typing.Optional typing.List typing.Dict typing.Tuple
    string.Template
    math.inf math.nan
    zoneinfo.ZoneInfo zoneinfo._common.load_data
    calendar.Calendar
    numbers.Number
    """.split()
)

# Pure data transforms the engine may evaluate itself (bounded) to follow obfuscated payloads.
TRANSFORMS: frozenset[str] = frozenset(
    """
    zlib.decompress gzip.decompress bz2.decompress lzma.decompress base64.b64decode base64.b32decode
    base64.b16decode base64.b85decode base64.a85decode base64.decodebytes binascii.a2b_base64 binascii.unhexlify
    binascii.a2b_hex codecs.decode _codecs.decode io.BytesIO _io.BytesIO builtins.bytes.fromhex
    """.split()
)
