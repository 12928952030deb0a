"""pandas.read_pickle under the hook: every compression pandas infers or is told, paths and buffers."""

from __future__ import annotations

import io
import os

from _scenario import MODE, OUT, ROOT, Payload, benign, finish, malicious, marker, start

SUFFIXES = ["", ".gz", ".bz2", ".xz", ".zst", ".zip", ".tar", ".tar.gz", ".tar.bz2", ".tar.xz"]


def frame():
    import pandas as pd

    return pd.DataFrame({"n": [1, 2, 3], "x": [0.5, 1.5, 2.5], "s": ["a", "b", "c"],
                         "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                         "c": pd.Categorical(["u", "v", "u"])})


def build() -> None:
    import pandas as pd

    for suffix in SUFFIXES:
        frame().to_pickle(ROOT / f"good.pkl{suffix}")
        pd.to_pickle(Payload(marker()), ROOT / f"evil.pkl{suffix}")
        pd.to_pickle(Payload(marker(f"CONTROL_{suffix or 'none'}")), ROOT / f"control.pkl{suffix}")
    # compression told, not inferred from the name
    frame().to_pickle(ROOT / "good.zstd-bin", compression="zstd")
    pd.to_pickle(Payload(marker()), ROOT / "evil.zstd-bin", compression="zstd")
    pd.to_pickle(Payload(marker()), ROOT / "evil.gzip-bin", compression={"method": "gzip", "compresslevel": 1})


def load() -> None:
    start()
    import pandas as pd

    expected = frame()
    for suffix in SUFFIXES:
        name = suffix or "none"
        benign(name, lambda s=suffix: pd.read_pickle(ROOT / f"good.pkl{s}"), expected.equals)
        malicious(name, lambda s=suffix: pd.read_pickle(ROOT / f"evil.pkl{s}"))
    benign("zstd-told", lambda: pd.read_pickle(ROOT / "good.zstd-bin", compression="zstd"), expected.equals)
    malicious("zstd-told", lambda: pd.read_pickle(ROOT / "evil.zstd-bin", compression="zstd"))
    malicious("gzip-dict", lambda: pd.read_pickle(ROOT / "evil.gzip-bin", compression={"method": "gzip"}))
    # buffers: pandas infers nothing from a buffer; the scan reads from where pandas reads
    good = (ROOT / "good.pkl").read_bytes()
    benign("buffer", lambda: pd.read_pickle(io.BytesIO(good)), expected.equals)
    malicious("buffer", lambda: pd.read_pickle(io.BytesIO((ROOT / "evil.pkl").read_bytes())))
    prefixed = io.BytesIO(b"junk" + good)
    prefixed.seek(4)
    benign("buffer-offset", lambda: pd.read_pickle(prefixed), expected.equals)
    with open(ROOT / "evil.pkl.gz", "rb") as handle:
        malicious("buffer-gzip", lambda: pd.read_pickle(handle, compression="gzip"))
    # the other public names of the same function
    malicious("pandas.io.pickle", lambda: pd.io.pickle.read_pickle(ROOT / "evil.pkl"))
    if MODE == "install":
        import safeload

        safeload.uninstall()
        OUT["restored"] = pd.read_pickle is pd.io.pickle.read_pickle and not hasattr(pd.read_pickle,
                                                                                    "_safeload_wrapper")
        for suffix in SUFFIXES:  # without the hook the same kind of file runs its payload
            pd.read_pickle(ROOT / f"control.pkl{suffix}")
        OUT["controls"] = sorted(p.name for p in ROOT.glob("CONTROL_*"))
        for p in ROOT.glob("CONTROL_*"):
            os.remove(p)


if __name__ == "__main__":
    build() if MODE == "build" else load()
    finish()
