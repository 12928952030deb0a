"""Real servers on 127.0.0.1 for the fleet tests and benchmarks: moto's standalone S3 server (a subprocess, as
s3fs tests itself) and a static HTTP server with Range, ETag and Last-Modified, with optional delay and
injected failures (HTTP 503) to exercise retries. Both stop themselves when their context exits."""

from __future__ import annotations

import contextlib
import email.utils
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RangeServer", "S3Server", "free_port", "moto_server", "range_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")


@contextlib.contextmanager
def moto_server() -> Iterator[S3Server]:
    """``python -m moto.server`` on a free port of 127.0.0.1, stopped (and reaped) on exit."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": endpoint,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
        yield S3Server(endpoint, env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class RangeServer:
    """Serves ``root``; ``delay`` seconds per request (``slow``: per file name, instead of ``delay``); ``fail``
    maps a file name to how many requests fail (503), ``fail_get`` to how many ranged reads fail."""

    root: Path
    port: int = 0
    delay: float = 0.0
    slow: dict[str, float] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    fail_get: dict[str, int] = field(default_factory=dict)  # only ranged reads fail (HEAD answers)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def bytes_served(self, name: str) -> int:
        return sum(_range_len(r, (self.root / name).stat().st_size) for m, n, r in self.requests
                   if m == "GET" and n == name)


def _range_len(spec: str | None, size: int) -> int:
    if spec is None:
        return size
    start_s, _, end_s = spec.removeprefix("bytes=").partition("-")
    if not start_s:
        return min(size, int(end_s))
    end = min(size - 1, int(end_s)) if end_s else size - 1
    return max(0, end - int(start_s) + 1)


def _handler(state: RangeServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, body: bool) -> None:
            name = self.path.lstrip("/").split("?", 1)[0]
            spec = self.headers.get("Range")
            with state.lock:
                state.requests.append((self.command, name, spec))
                failing = state.fail.get(name, 0)
                if failing > 0:
                    state.fail[name] = failing - 1
                elif spec and state.fail_get.get(name, 0) > 0:
                    failing = state.fail_get[name]
                    state.fail_get[name] = failing - 1
            pause = state.slow.get(name, state.delay)
            if pause:
                time.sleep(pause)
            path = state.root / name
            if failing or not name or "/" in name or not path.is_file():
                self.send_response(503 if failing else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            info = path.stat()
            size = info.st_size
            etag = f'"{info.st_mtime_ns:x}-{size:x}"'  # as nginx does: mtime and size
            start, end, status = 0, size, 200
            if spec and spec.startswith("bytes="):
                first, _, last = spec[6:].partition("-")
                if first:
                    start, end = int(first), min(size, int(last) + 1) if last else size
                else:
                    start, end = max(0, size - int(last)), size
                status = 206
            self.send_response(status)
            self.send_header("Content-Length", str(end - start))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
            self.end_headers()
            if body:
                with path.open("rb") as handle:
                    handle.seek(start)
                    left = end - start
                    while left > 0:
                        chunk = handle.read(min(left, 1 << 20))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        left -= len(chunk)

        def do_GET(self) -> None:
            self._serve(True)

        def do_HEAD(self) -> None:
            self._serve(False)

    return Handler


@contextlib.contextmanager
def range_server(root: Path, *, delay: float = 0.0) -> Iterator[RangeServer]:
    state = RangeServer(Path(root), delay=delay)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def env_with(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
