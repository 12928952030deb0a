"""pandas 3 objects as users pickle them, with pyarrow installed (the default ``str`` dtype is then Arrow-backed):
every dtype, every index kind, and ``to_pickle`` with every compression pandas writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.corpus.cases import PANDAS, Artifact, group


def _frames() -> dict[str, Callable[[], Any]]:
    import datetime
    import decimal
    import ipaddress
    import uuid
    import zoneinfo

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    return {
        "plain-frame": lambda: pd.DataFrame({"i": [1, 2, 3], "f": [0.5, 1.5, 2.5], "s": ["a", "b", "c"]}),
        "str-with-nan": lambda: pd.DataFrame({"s": ["a", None, "c"]}),
        "string-nullable": lambda: pd.DataFrame({"s": pd.array(["a", None, "c"], dtype="string")}),
        "string-python": lambda: pd.DataFrame({"s": pd.array(["a", None], dtype=pd.StringDtype("python"))}),
        "object-strings": lambda: pd.DataFrame({"s": pd.Series(["a", "b"], dtype=object)}),
        "categorical": lambda: pd.DataFrame({"c": pd.Categorical(["x", "y", "x"], ordered=True)}),
        "datetime-naive": lambda: pd.DataFrame({"t": pd.date_range("2020-01-01", periods=3, freq="h")}),
        "datetime-tz-zoneinfo": lambda: pd.DataFrame({"t": pd.date_range("2020", periods=3, tz="Europe/Paris")}),
        "datetime-tz-utc": lambda: pd.DataFrame({"t": pd.date_range("2020", periods=3, tz="UTC")}),
        "datetime-tz-pytz": lambda: pd.DataFrame({"t": pd.date_range("2020", periods=3,
                                                                     tz=__import__("pytz").timezone("US/Eastern"))}),
        "datetime-tz-fixed": lambda: pd.DataFrame({"t": pd.date_range(
            "2020", periods=2, tz=datetime.timezone(datetime.timedelta(hours=2)))}),
        "timedelta": lambda: pd.DataFrame({"d": pd.to_timedelta([1, 2, 3], unit="s")}),
        "period": lambda: pd.DataFrame({"p": pd.period_range("2020-01", periods=3, freq="M")}),
        "interval": lambda: pd.DataFrame({"iv": pd.interval_range(0, 3)}),
        "sparse": lambda: pd.DataFrame({"sp": pd.arrays.SparseArray([0, 1, 0, 0])}),
        "nullable-int": lambda: pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),
        "nullable-bool": lambda: pd.DataFrame({"b": pd.array([True, None, False], dtype="boolean")}),
        "nullable-float": lambda: pd.DataFrame({"x": pd.array([0.5, None], dtype="Float64")}),
        "arrow-int": lambda: pd.DataFrame({"a": pd.Series([1, None, 3], dtype=pd.ArrowDtype(pa.int64()))}),
        "arrow-string": lambda: pd.DataFrame({"a": pd.Series(["x", None], dtype=pd.ArrowDtype(pa.string()))}),
        "arrow-timestamp": lambda: pd.DataFrame({"a": pd.Series(pd.date_range("2020", periods=2),
                                                                dtype=pd.ArrowDtype(pa.timestamp("us")))}),
        "arrow-list": lambda: pd.DataFrame({"a": pd.Series([[1, 2], [3]], dtype=pd.ArrowDtype(pa.list_(pa.int64())))}),
        "multiindex": lambda: pd.DataFrame({"v": [1.0, 2.0, 3.0, 4.0]},
                                           index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["k", "n"])),
        "multiindex-columns": lambda: pd.DataFrame(np.arange(4).reshape(1, 4),
                                                   columns=pd.MultiIndex.from_product([["a", "b"], ["x", "y"]])),
        "timedelta-index": lambda: pd.Series(range(3), index=pd.timedelta_range("1D", periods=3)),
        "datetime-index-freq": lambda: pd.Series(range(3), index=pd.date_range("2020", periods=3, freq="D")),
        "period-index": lambda: pd.Series(range(2), index=pd.period_range("2020Q1", periods=2, freq="Q")),
        "interval-index": lambda: pd.Series(range(3), index=pd.interval_range(0, 3)),
        "categorical-index": lambda: pd.Series(range(2), index=pd.CategoricalIndex(["a", "b"])),
        "range-index": lambda: pd.RangeIndex(5),
        "series-str": lambda: pd.Series(["x", "y"], name="s"),
        "timestamp-tz": lambda: pd.Timestamp("2020-01-01 12:00", tz="Asia/Tokyo"),
        "python-objects": lambda: pd.DataFrame({"o": [decimal.Decimal("1.5"), datetime.date(2020, 1, 2),
                                                      uuid.UUID(int=7), ipaddress.IPv4Network("10.0.0.0/8"),
                                                      ipaddress.ip_address("::1"),
                                                      datetime.datetime(2020, 1, 1, tzinfo=zoneinfo.ZoneInfo("UTC"))]}),
        "resampled-groupby": lambda: pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]}).groupby("k").sum(),
    }


FRAMES = ("plain-frame str-with-nan string-nullable string-python object-strings categorical datetime-naive "
          "datetime-tz-zoneinfo datetime-tz-utc datetime-tz-pytz datetime-tz-fixed timedelta period interval sparse "
          "nullable-int nullable-bool nullable-float arrow-int arrow-string arrow-timestamp arrow-list multiindex "
          "multiindex-columns timedelta-index datetime-index-freq period-index interval-index categorical-index "
          "range-index series-str timestamp-tz python-objects resampled-groupby").split()
COMPRESSIONS = {"none": ".pkl", "gzip": ".pkl.gz", "bz2": ".pkl.bz2", "xz": ".pkl.xz", "zip": ".pkl.zip",
                "tar": ".pkl.tar", "zstd": ".pkl.zst"}


def pandas_equal(real: Any, safe: Any) -> None:
    import pandas as pd

    if isinstance(real, pd.DataFrame):
        pd.testing.assert_frame_equal(real, safe)
    elif isinstance(real, pd.Series):
        pd.testing.assert_series_equal(real, safe)
    elif isinstance(real, pd.Index):
        pd.testing.assert_index_equal(real, safe)
    else:
        assert real == safe


@group("pandas-dtypes", family=PANDAS, library="pandas", labels=FRAMES, requires=("pandas", "pyarrow"))
def build_frames(directory: Path) -> dict[str, Artifact]:
    import pandas as pd

    frames = _frames()
    assert list(frames) == FRAMES
    out = {}
    for label, make in frames.items():
        path = directory / f"{label}.pkl"
        pd.to_pickle(make(), path)  # what users call (DataFrame.to_pickle for frames); protocol 5
        out[label] = Artifact(path, "pandas", check=pandas_equal)
    return out


@group("pandas-compression", family=PANDAS, library="pandas", labels=tuple(COMPRESSIONS),
       requires=("pandas", "pyarrow", "zstandard"))
def build_compressed(directory: Path) -> dict[str, Artifact]:
    import pandas as pd

    frame = pd.DataFrame({"i": range(50), "s": [f"row {n}" for n in range(50)],
                          "t": pd.date_range("2021", periods=50, tz="UTC"),
                          "c": pd.Categorical(["a", "b"] * 25)})
    out = {}
    for compression, suffix in COMPRESSIONS.items():
        path = directory / f"frame{suffix}"
        frame.to_pickle(path)  # compression inferred from the extension, as users write it
        out[compression] = Artifact(path, "pandas", check=pandas_equal)
    return out
