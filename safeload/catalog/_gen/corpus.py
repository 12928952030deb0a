"""The sample corpus: ordinary objects of each family, built from the installed libraries, as users save them.

Each family is a function returning ``(label, builder)`` pairs; a builder makes one object (small, random
weights, fixed seeds, no downloads). The generator pickles them and harvests which names the bytes contain.

Invariant: builders only construct objects in memory (temporary directories at most, removed after); they
never read a file from outside or the network.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any

__all__ = ["FAMILIES", "torch_saved"]

Sample = tuple[str, Callable[[], Any]]
_UNK = "[UNK]"  # a tokenizer's unknown-token string


def _stdlib() -> list[Sample]:
    import argparse
    import array
    import collections
    import datetime
    import decimal
    import enum
    import fractions
    import functools
    import ipaddress
    import logging
    import pathlib
    import re
    import types
    import uuid
    import zoneinfo

    class _Color(enum.Enum):  # an enum's members pickle by the class name: harvest the enum machinery only
        RED = 1

    tz = zoneinfo.ZoneInfo("UTC")
    return [
        ("OrderedDict", lambda: collections.OrderedDict(a=1)),
        ("defaultdict", lambda: collections.defaultdict(list, a=[1])),
        ("Counter", lambda: collections.Counter("abca")),
        ("deque", lambda: collections.deque([1, 2], maxlen=5)),
        ("ChainMap", lambda: collections.ChainMap({"a": 1}, {"b": 2})),
        ("UserDict", lambda: collections.UserDict(a=1)),
        ("UserList", lambda: collections.UserList([1])),
        ("datetime", lambda: [datetime.datetime(2020, 1, 2, 3, 4, 5), datetime.date(2020, 1, 2),
                              datetime.time(1, 2), datetime.timedelta(3), datetime.UTC,
                              datetime.timezone(datetime.timedelta(hours=2), "X")]),
        ("zoneinfo", lambda: datetime.datetime(2020, 1, 1, tzinfo=tz)),
        ("decimal", lambda: [decimal.Decimal("1.25"), decimal.Context(prec=5)]),
        ("fraction", lambda: fractions.Fraction(1, 3)),
        ("uuid", lambda: uuid.UUID(int=5)),
        ("ipaddress", lambda: [ipaddress.IPv4Address("1.2.3.4"), ipaddress.IPv4Network("10.0.0.0/8"),
                               ipaddress.IPv4Interface("10.0.0.1/8"), ipaddress.IPv6Address("::1"),
                               ipaddress.IPv6Network("::/64"), ipaddress.IPv6Interface("::1/64")]),
        ("enum", lambda: [re.RegexFlag.IGNORECASE, enum.Enum, enum.IntEnum, enum.Flag]),
        ("pathlib", lambda: [pathlib.PurePosixPath("a/b"), pathlib.PureWindowsPath("a\\b"), pathlib.Path("x")]),
        ("re", lambda: re.compile(r"a+b", re.I)),
        ("argparse", lambda: argparse.Namespace(a=1, b="x")),
        ("simplenamespace", lambda: types.SimpleNamespace(a=1)),
        ("array", lambda: [array.array("d", [1.0, 2.0]), array.array("u", "ab")]),
        ("partial", lambda: functools.partial(max, 1, key=abs)),
        ("builtins", lambda: [complex(1, 2), bytearray(b"x"), {1, 2}, frozenset({3}), range(3), slice(1, 2),
                              NotImplemented, Ellipsis, ValueError("x"), int, float, str]),
        ("logger", lambda: logging.getLogger("safeload.sample")),
    ]


def _numpy() -> list[Sample]:
    import numpy as np

    dtypes = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "g", "c8", "c16", "G",
              "U3", "S3", "O", "M8[ns]", "m8[s]", "V4", [("a", "i4"), ("b", "f8")]]
    out: list[Sample] = [(f"array-{d}", (lambda d=d: np.zeros(2, dtype=d))) for d in dtypes]
    out += [(f"scalar-{d}", (lambda d=d: np.zeros(1, dtype=d)[0])) for d in dtypes if d not in ("O",)]
    out += [(f"dtype-{d}", (lambda d=d: np.dtype(d))) for d in dtypes]
    out += [
        ("dtype-classes", lambda: [type(np.dtype(d)) for d in ("f8", "i4", "O", "U", "M8", "?", "V4")]),
        ("matrix", lambda: np.matrix([[1, 2]])),
        ("masked", lambda: np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])),
        ("masked-constant", lambda: np.ma.masked),
        ("recarray", lambda: np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])),
        ("record", lambda: np.rec.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])[0]),
        ("fortran", lambda: np.asfortranarray(np.ones((2, 3)))),
        ("randomstate", lambda: np.random.RandomState(0)),
        ("generators", lambda: [np.random.Generator(bg(1)) for bg in (np.random.PCG64, np.random.PCG64DXSM,
                                                                    np.random.MT19937, np.random.Philox,
                                                                    np.random.SFC64)]),
        ("seedsequence", lambda: np.random.SeedSequence(5)),
        ("default_rng", lambda: np.random.default_rng(3)),
        ("ufuncs", lambda: [np.add, np.log1p, np.exp, np.sqrt, np.maximum, np.isnan, np.sin, np.matmul]),
        ("functions", lambda: [np.mean, np.median, np.sum, np.std, np.nanmean]),
        ("scalar-types", lambda: [np.float64, np.int64, np.bool_, np.str_, np.object_, np.datetime64]),
        ("memmap-like", _memmap_sample),
    ]
    return out


def _memmap_sample() -> Any:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        mm = np.memmap(f"{tmp}/m.dat", dtype="f4", mode="w+", shape=(3,))
        sample = mm[:2]
        copy = np.array(sample, subok=True)
        del mm, sample
        return copy


def _pandas() -> list[Sample]:
    import numpy as np
    import pandas as pd

    def frame() -> Any:
        n = 3
        return pd.DataFrame({
            "i": np.arange(n), "f": np.linspace(0, 1, n), "b": [True, False, True], "s": ["a", "b", "c"],
            "o": pd.Series(["x", 1, None], dtype=object), "cat": pd.Categorical(["a", "b", "a"]),
            "dt": pd.date_range("2020", periods=n), "dtz": pd.date_range("2020", periods=n, tz="Europe/Paris"),
            "dtu": pd.date_range("2020", periods=n, tz="UTC"),
            "td": pd.to_timedelta([1, 2, 3], unit="s"), "per": pd.period_range("2020", periods=n, freq="M"),
            "iv": pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]), "Int": pd.array([1, None, 3], dtype="Int64"),
            "I8": pd.array([1, 2, 3], dtype="Int8"), "U16": pd.array([1, 2, 3], dtype="UInt16"),
            "F": pd.array([1.0, None, 3.0], dtype="Float64"), "B": pd.array([True, None, False], dtype="boolean"),
            "sp": pd.arrays.SparseArray([0, 0, 1]), "spf": pd.arrays.SparseArray([0.0, np.nan, 1.0]),
            "str_py": pd.array(["a", None, "c"], dtype="string[python]"),
            "str_pa": pd.array(["a", None, "c"], dtype="string[pyarrow]"),
            "arrow_i": pd.array([1, 2, 3], dtype="int64[pyarrow]"),
            "arrow_s": pd.array(["x", "y", "z"], dtype=pd.ArrowDtype(__import__("pyarrow").string())),
            "c128": np.array([1j, 2, 3]),
        })

    return [
        ("frame", frame),
        ("series", lambda: pd.Series([1.0, 2.0], index=["a", "b"], name="s")),
        ("series-str", lambda: pd.Series(["a", "b"])),
        ("indexes", lambda: [pd.RangeIndex(3), pd.Index([1, 2]), pd.Index(["a", "b"]), pd.Index([1.5]),
                             pd.MultiIndex.from_product([[1, 2], ["a", "b"]]), pd.DatetimeIndex(["2020-01-01"]),
                             pd.TimedeltaIndex(["1 day"]), pd.PeriodIndex(["2020-01"], freq="M"),
                             pd.IntervalIndex.from_breaks([0, 1, 2]), pd.CategoricalIndex(["a", "b"]),
                             pd.Index([True, False]), pd.Index([1, None], dtype="Int64"),
                             pd.DatetimeIndex(["2020-01-01"]).tz_localize("US/Eastern")]),
        ("scalars", lambda: [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-01", tz="UTC"),
                             pd.Timestamp("2020-01-01", tz="Asia/Tokyo"), pd.Timedelta("1D"),
                             pd.Period("2020-01", freq="M"), pd.Interval(0, 1), pd.NaT, pd.NA]),
        ("offsets", lambda: [pd.offsets.Day(2), pd.offsets.MonthEnd(), pd.offsets.BusinessDay(),
                             pd.offsets.Week(weekday=1), pd.offsets.Hour(3), pd.DateOffset(months=1),
                             pd.offsets.QuarterEnd(), pd.offsets.YearBegin(), pd.offsets.Minute()]),
        ("dtypes", lambda: [pd.CategoricalDtype(["a"]), pd.DatetimeTZDtype(tz="UTC"), pd.PeriodDtype("D"),
                            pd.IntervalDtype("int64"), pd.SparseDtype("float"), pd.StringDtype(),
                            pd.Int64Dtype(), pd.BooleanDtype(), pd.Float32Dtype(), pd.UInt8Dtype()]),
        ("groupby-frame", lambda: frame().describe(include="all")),
    ]


def _pyarrow() -> list[Sample]:
    import pyarrow as pa

    return [
        ("arrays", lambda: [pa.array([1, 2]), pa.array(["a", None]), pa.array([1.5]), pa.array([True]),
                            pa.array([[1], [2, 3]]), pa.array([{"a": 1}]), pa.array([b"x"]),
                            pa.array(["a", "b"]).dictionary_encode(), pa.chunked_array([[1], [2]])]),
        ("table", lambda: pa.table({"a": [1, 2], "b": ["x", "y"]})),
        ("batch", lambda: pa.record_batch({"a": [1]})),
        ("types", lambda: [pa.int64(), pa.string(), pa.large_string(), pa.list_(pa.int8()),
                           pa.timestamp("ns", tz="UTC"), pa.decimal128(5, 2), pa.struct([("a", pa.int8())]),
                           pa.dictionary(pa.int8(), pa.string()), pa.schema([("a", pa.int8())]),
                           pa.field("a", pa.int8())]),
        ("scalars", lambda: [pa.scalar(1), pa.scalar("x"), pa.scalar(1.5)]),
        ("buffer", lambda: pa.py_buffer(b"abc")),
    ]


def _scipy() -> list[Sample]:
    import numpy as np
    import scipy.interpolate as si
    import scipy.sparse as sp
    import scipy.spatial as ss
    import scipy.stats as st

    m = sp.random(4, 4, density=0.5, random_state=0, format="csr")
    x = np.linspace(0, 1, 6)
    return [
        ("sparse", lambda: [m.asformat(f) for f in ("csr", "csc", "coo", "lil", "dok", "bsr", "dia")]),
        ("sparse-arrays", lambda: [sp.csr_array(m), sp.csc_array(m), sp.coo_array(m), sp.lil_array(m),
                                   sp.dok_array(m), sp.bsr_array(m), sp.dia_array(m)]),
        ("frozen", lambda: [st.norm(0, 1), st.gamma(2.0), st.poisson(3), st.beta(2, 3), st.uniform(),
                            st.multivariate_normal([0, 0])]),
        ("interp", lambda: [si.interp1d(x, x ** 2), si.make_interp_spline(x, x ** 2), si.CubicSpline(x, x),
                            si.PchipInterpolator(x, x), si.UnivariateSpline(x, x ** 2)]),
        ("spatial", lambda: [ss.KDTree(np.random.default_rng(0).random((10, 2))),
                             ss.cKDTree(np.random.default_rng(0).random((10, 2)))]),
        ("rotation", lambda: ss.transform.Rotation.from_euler("z", 30, degrees=True)),
        ("optimize", lambda: __import__("scipy.optimize", fromlist=["x"]).minimize(lambda v: (v ** 2).sum(),
                                                                                  np.ones(2)).x),
    ]


def _sklearn() -> list[Sample]:
    import warnings

    import numpy as np
    from sklearn.utils import all_estimators

    rng = np.random.default_rng(0)
    x = rng.random((30, 4))
    y = (x[:, 0] > 0.5).astype(int)
    yr = x[:, 1]
    out: list[Sample] = []
    for name, cls in all_estimators():
        def build(cls: Any = cls) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = cls()
                for target in (y, yr, None):
                    try:
                        return est.fit(x, target) if target is not None else est.fit(x)
                    except Exception:  # noqa: BLE001,S112 - try the next kind of target
                        continue
                return est
        out.append((f"sklearn-{name}", build))

    def pipelines() -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import accuracy_score, make_scorer
        from sklearn.model_selection import GridSearchCV
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

        pipe = Pipeline([("log", FunctionTransformer(np.log1p)), ("sc", StandardScaler()),
                         ("lr", LogisticRegression())]).fit(x, y)
        grid = GridSearchCV(LogisticRegression(), {"C": [1.0, 2.0]}, cv=2,
                            scoring=make_scorer(accuracy_score)).fit(x, y)
        ct = ColumnTransformer([("oh", OneHotEncoder(), [0])]).fit(np.array([["a"], ["b"]]))
        return [pipe, grid, ct, FunctionTransformer(np.log1p, inverse_func=np.expm1)]

    out.append(("sklearn-pipelines", pipelines))
    return out


def _torch() -> list[Sample]:
    import torch
    from torch import nn

    torch.manual_seed(0)

    def model() -> Any:
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3),
                             nn.Dropout(), nn.LayerNorm(3), nn.GELU(), nn.Embedding(4, 3), nn.LSTM(3, 3),
                             nn.GRU(3, 3), nn.MultiheadAttention(4, 2),
                             nn.TransformerEncoderLayer(4, 2, dim_feedforward=8))

    def optimizers() -> Any:
        out = []
        for cls in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop,
                    torch.optim.Adagrad, torch.optim.Adadelta, torch.optim.Adamax, torch.optim.NAdam,
                    torch.optim.RAdam, torch.optim.ASGD, torch.optim.Rprop, torch.optim.LBFGS):
            p = nn.Parameter(torch.ones(2))
            opt = cls([p], lr=0.1)
            p.grad = torch.ones(2)
            opt.step(p.sum) if cls is torch.optim.LBFGS else opt.step()
            out.append(opt.state_dict())
        return out

    def schedulers() -> Any:
        s = torch.optim.lr_scheduler
        out = []
        for make in (lambda o: s.StepLR(o, 2), lambda o: s.LambdaLR(o, lambda e: 1.0),
                     lambda o: s.CosineAnnealingLR(o, 3), lambda o: s.OneCycleLR(o, 1.0, total_steps=5),
                     s.ReduceLROnPlateau, lambda o: s.ExponentialLR(o, 0.9),
                     lambda o: s.MultiStepLR(o, [1]), lambda o: s.CyclicLR(o, 0.1, 1.0),
                     lambda o: s.CosineAnnealingWarmRestarts(o, 2), s.PolynomialLR, s.LinearLR, s.ConstantLR):
            opt = torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
            out.append(make(opt).state_dict())
        return out

    def parametrized() -> Any:
        from torch.nn.utils import parametrizations, spectral_norm, weight_norm

        return [weight_norm(nn.Linear(2, 2)), spectral_norm(nn.Linear(2, 2)),
                parametrizations.orthogonal(nn.Linear(2, 2)), parametrizations.weight_norm(nn.Linear(2, 2))]

    def quantized() -> Any:
        import torch.ao.quantization as q

        return q.quantize_dynamic(nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.qint8)

    def tensors() -> Any:
        return [torch.ones(2, dtype=d) for d in (torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                                 torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64,
                                                 torch.bool, torch.complex64)] + [
            torch.ones(2).to_sparse(), torch.Size([2, 3]), torch.device("cpu"), torch.float32, torch.strided,
            torch.contiguous_format, nn.Parameter(torch.ones(1)), torch.ones(2, 3).t(),
            torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8), torch.get_rng_state()]

    def distributions() -> Any:
        d = torch.distributions
        return [d.Normal(0.0, 1.0), d.Categorical(torch.ones(3) / 3), d.Bernoulli(0.5),
                d.MultivariateNormal(torch.zeros(2), torch.eye(2)), d.Uniform(0.0, 1.0)]

    def data() -> Any:
        from torch.utils.data import ConcatDataset, Subset, TensorDataset

        ds = TensorDataset(torch.ones(3, 2), torch.zeros(3))
        return [ds, Subset(ds, [0, 1]), ConcatDataset([ds, ds])]

    def scaler() -> Any:
        return torch.amp.GradScaler("cpu").state_dict()

    return [("torch-model", model), ("torch-optim", optimizers), ("torch-sched", schedulers),
            ("torch-parametrize", parametrized), ("torch-quantized", quantized), ("torch-tensors", tensors),
            ("torch-distributions", distributions), ("torch-data", data), ("torch-scaler", scaler),
            ("torch-modules", _all_torch_modules)]


def _all_torch_modules() -> Any:
    import inspect

    from torch import nn

    out = []
    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if inspect.isclass(cls) and issubclass(cls, nn.Module):
            try:
                out.append(cls())
            except Exception:  # noqa: BLE001,S112 - modules that need arguments are covered by the model sample
                continue
    return out


def torch_saved(obj: Any) -> tuple[bytes, Callable[[Any], Any]]:
    """``torch.save(obj)``'s ``data.pkl`` and a persistent loader giving empty storages of the right type."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        data = archive.read(name)

    def persistent(pid: Any) -> Any:
        _kind, storage_type, _key, _location, numel = pid
        dtype = storage_type.dtype if hasattr(storage_type, "dtype") else torch.uint8
        size = numel * torch._utils._element_size(dtype)
        return torch.storage.TypedStorage(wrap_storage=torch.UntypedStorage(size), dtype=dtype, _internal=True)

    return data, persistent


def _boosters() -> list[Sample]:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((40, 3))
    y = (x[:, 0] > 0.5).astype(int)

    def xgb() -> Any:
        import xgboost

        clf = xgboost.XGBClassifier(n_estimators=2, max_depth=2).fit(x, y)
        return [clf, clf.get_booster(), xgboost.XGBRegressor(n_estimators=2).fit(x, x[:, 1])]

    def lgbm() -> Any:
        import lightgbm

        clf = lightgbm.LGBMClassifier(n_estimators=2, verbose=-1).fit(x, y)
        return [clf, clf.booster_, lightgbm.LGBMRegressor(n_estimators=2, verbose=-1).fit(x, x[:, 1])]

    def cat() -> Any:
        import catboost

        with tempfile.TemporaryDirectory() as tmp:
            clf = catboost.CatBoostClassifier(iterations=2, verbose=False, train_dir=tmp,
                                              allow_writing_files=False).fit(x, y)
            return [clf, catboost.CatBoostRegressor(iterations=2, verbose=False,
                                                    allow_writing_files=False).fit(x, x[:, 1])]

    return [("xgboost", xgb), ("lightgbm", lgbm), ("catboost", cat)]


def _tokenizers() -> list[Sample]:
    def tok() -> Any:
        from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers

        vocab = {"[UNK]": 0, "a": 1, "b": 2, "ab": 3}
        t = Tokenizer(models.WordPiece(vocab, unk_token=_UNK))
        t.normalizer = normalizers.Lowercase()
        t.pre_tokenizer = pre_tokenizers.Whitespace()
        t.add_tokens([AddedToken("zz", special=True)])
        bpe = Tokenizer(models.BPE({"a": 0, "b": 1, "ab": 2}, [("a", "b")]))
        return [t, bpe, t.encode("ab a"), models.Unigram([("a", -1.0), ("b", -2.0)], 0, False)]

    return [("tokenizers", tok)]


def _transformers() -> list[Sample]:
    def args() -> Any:
        from transformers import TrainingArguments

        with tempfile.TemporaryDirectory() as tmp:
            return TrainingArguments(output_dir=tmp, report_to=[])

    def model() -> Any:
        from transformers import BertConfig, BertModel

        config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=8, max_position_embeddings=16)
        return [config, BertModel(config)]

    def tokenizer() -> Any:
        from tokenizers import Tokenizer, models
        from transformers import PreTrainedTokenizerFast

        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordPiece({_UNK: 0, "a": 1}, unk_token=_UNK)),
                                      unk_token=_UNK)
        return [tok, tok("a a")]

    return [("training-args", args), ("bert", model), ("fast-tokenizer", tokenizer)]


FAMILIES: dict[str, Callable[[], list[Sample]]] = {
    "stdlib": _stdlib, "numpy": _numpy, "pandas": _pandas, "pyarrow": _pyarrow, "scipy": _scipy,
    "sklearn": _sklearn, "torch": _torch, "boosters": _boosters, "tokenizers": _tokenizers,
    "transformers": _transformers,
}
