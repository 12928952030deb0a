"""``safeload.pandas_read_pickle`` in-process: drop-in behaviour, the codec caps on pandas' own readers, archives
scanned before pandas opens them, buffers read from where pandas reads them. (End to end through the hook:
``tests/test_integrations.py``.)"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import pytest

import safeload
from safeload.policy import Limits, Policy

pd = pytest.importorskip("pandas")
zstandard = pytest.importorskip("zstandard")

EVIL = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x04true\x85R."


def frame() -> object:
    return pd.DataFrame({"a": [1, 2, 3], "s": ["x", "y", "z"]})


def test_signature_and_result_match_pandas(tmp_path: Path) -> None:
    import inspect

    real = inspect.signature(pd.read_pickle).parameters
    ours = inspect.signature(safeload.pandas_read_pickle).parameters
    assert list(ours)[: len(real)] == list(real)
    assert all(ours[n].default == real[n].default for n in real)
    path = tmp_path / "f.pkl.gz"
    frame().to_pickle(path)
    assert safeload.pandas_read_pickle(path).equals(pd.read_pickle(path))
    assert safeload.pandas_read_pickle(str(path), compression="gzip").equals(frame())


def test_pandas_own_errors_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "f.pkl"
    frame().to_pickle(path)
    with pytest.raises(ValueError, match="Unrecognized compression"):
        safeload.pandas_read_pickle(path, compression="brotli-ish")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.pkl", pickle.dumps(1))
        zf.writestr("b.pkl", pickle.dumps(2))
    with pytest.raises(ValueError, match="Multiple files"):
        safeload.pandas_read_pickle(archive)


def test_wrong_compression_fails_like_pandas_and_never_loads_a_payload(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl.gz"  # the name says gzip, the content is a plain pickle
    path.write_bytes(EVIL)
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pandas_read_pickle(path)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
def test_decompression_bomb_is_capped_with_pandas_reader(tmp_path: Path, suffix: str) -> None:
    blob = pickle.dumps(b"\0" * (3 << 20))
    path = tmp_path / f"bomb.pkl{suffix}"
    writers = {".gz": gzip.compress, ".bz2": bz2.compress, ".zst": zstandard.ZstdCompressor().compress}
    if suffix == ".xz":
        import lzma

        path.write_bytes(lzma.compress(blob))
    else:
        path.write_bytes(writers[suffix](blob))
    small = Policy(limits=Limits(max_decompressed_bytes=1 << 20))
    with pytest.raises(safeload.UnsafeModelError, match="SL016") as err:
        safeload.pandas_read_pickle(path, policy=small)
    assert str(path) in str(err.value)
    assert isinstance(safeload.pandas_read_pickle(path), bytes)  # under the default caps it loads


def test_zip_with_a_huge_declared_member_is_refused_before_pandas_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pkl.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("f.pkl", pickle.dumps(b"\0" * (3 << 20)))
    small = Policy(limits=Limits(max_decompressed_bytes=1 << 20))
    with pytest.raises(safeload.UnsafeModelError):
        safeload.pandas_read_pickle(path, policy=small)


def test_tar_member_payload_is_found(tmp_path: Path) -> None:
    inner = tmp_path / "evil.pkl"
    inner.write_bytes(EVIL)
    path = tmp_path / "evil.pkl.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(inner, arcname="evil.pkl")
    with pytest.raises(safeload.UnsafeModelError, match=r"posix\.system"):
        safeload.pandas_read_pickle(path)


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.path}",))


class _Fails:
    def __reduce__(self) -> tuple[object, ...]:
        return (int, ("not a number",))  # unpickling raises ValueError: pandas retries from offset 0


def test_pandas_retry_from_offset_zero_never_reaches_unscanned_bytes(tmp_path: Path, marker: object) -> None:
    def buffer(payload: Path) -> io.BytesIO:
        prefix = pickle.dumps(_Touch(payload))
        stream = io.BytesIO(prefix + pickle.dumps(_Fails()))
        stream.seek(len(prefix))
        return stream

    control = tmp_path / "CONTROL"
    # plain pandas: the first load fails, the retry from offset 0 unpickles the payload before the position
    assert pd.read_pickle(buffer(control)) == 0  # os.system's exit status
    assert control.exists()
    with pytest.raises(ValueError, match="not a number"):
        safeload.pandas_read_pickle(buffer(marker.path))  # type: ignore[attr-defined]
    # the marker fixture asserts the payload did not run: pandas' retry saw only the scanned bytes
    clean = io.BytesIO(b"notes" + pickle.dumps(frame()))
    clean.seek(5)
    assert safeload.pandas_read_pickle(clean).equals(frame())


def test_non_seekable_stream(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.write(write, pickle.dumps(frame()))
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        assert safeload.pandas_read_pickle(stream).equals(frame())


def test_refusal_names_the_file_not_the_temporary_copy(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(EVIL))
    with pytest.raises(safeload.UnsafePickleError) as err:
        safeload.pandas_read_pickle(path)
    assert err.value.result.source == str(path)
    assert "safeload-" not in str(err.value)
    assert "zstd-compressed" in err.value.result.formats


def test_a_decompressing_handle_is_read_not_mapped(tmp_path: Path) -> None:
    """gzip.GzipFile.fileno() is the compressed file's: mapping it would scan other bytes than pandas reads."""
    path = tmp_path / "f.gz"
    path.write_bytes(gzip.compress(b"") + gzip.compress(EVIL))
    with gzip.open(path, "rb") as handle, pytest.raises(safeload.UnsafeModelError):
        safeload.pandas_read_pickle(handle, compression=None, threshold="high")
    path.write_bytes(gzip.compress(pickle.dumps(frame())))
    with gzip.open(path, "rb") as handle:
        assert safeload.pandas_read_pickle(handle).equals(frame())


def test_urls_and_http_content_encoding(tmp_path: Path, marker: object) -> None:
    """pandas fetches URLs itself and decodes a gzip Content-Encoding whatever compression was asked for."""
    import http.server
    import threading

    payload = pickle.dumps(_Touch(marker.path))  # type: ignore[attr-defined]
    bodies = {"/plain.pkl": (pickle.dumps(frame()), None), "/evil.pkl": (payload, None),
              "/encoded.pkl": (gzip.compress(pickle.dumps(frame())), "gzip"),
              "/evil-encoded.pkl": (gzip.compress(payload), "gzip")}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, encoding = bodies[self.path]
            self.send_response(200)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert safeload.pandas_read_pickle(f"{base}/plain.pkl").equals(frame())
        assert safeload.pandas_read_pickle(f"{base}/encoded.pkl").equals(frame())
        for name in ("evil.pkl", "evil-encoded.pkl"):
            with pytest.raises(safeload.UnsafeModelError) as err:
                safeload.pandas_read_pickle(f"{base}/{name}")
            assert err.value.result.source == f"{base}/{name}"
    finally:
        server.shutdown()
        server.server_close()
