"""What the streamer's tests play from and report to, without the server's stream routes:

- StreamRecord: one stream as the server keeps it (the contract's states, transitions,
  `requested` and position), answering the bot's get() and report() as StreamApi does,
  and the host's asks; every report is kept with its time;
- sources on 127.0.0.1: a directory served over HTTP (Range requests included, as
  FFmpeg seeks with them), a server that serves part of a file and then stalls, and a
  port that accepts connections and never answers.
"""

import contextlib
import functools
import http.server
import io
import json
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bots.runtime import ApiError

# The contract's transitions for the bot's own reports; the same state again is accepted.
TRANSITIONS = {"starting": {"playing", "failed"}, "playing": {"paused", "ended", "failed"},
               "paused": {"playing", "ended", "failed"}, "stopping": {"ended", "failed"}}


class StreamRecord:
    def __init__(self, sid: str, source_url: str, mode: str = "file", state: str = "starting",
                 position: float = 0.0, path: Path | None = None):
        """With `path`, the stream is also kept in that JSON file after every change, so
        another process (a streamer a test kills and starts again) shares it."""
        self.stream = {"id": sid, "mode": mode, "title": "Clip", "state": state,
                       "position": position, "loop": False, "sourceKind": "url",
                       "startedBy": "host", "createdAt": _now()}
        self.source_url = source_url
        self.reports: list[tuple[float, dict]] = []
        self.path = path
        self._lock = threading.Lock()
        self._save()

    @classmethod
    def load(cls, path: Path) -> "StreamRecord":
        saved = json.loads(path.read_text())
        record = cls(saved["stream"]["id"], saved["sourceUrl"])
        record.stream, record.path = saved["stream"], path
        return record

    def _save(self) -> None:
        if self.path is not None:
            part = self.path.with_suffix(".part")
            part.write_text(json.dumps({"stream": self.stream, "sourceUrl": self.source_url}))
            part.rename(self.path)  # whole or not at all for a reader

    # -- the bot's side (as StreamApi) ---------------------------------------------------

    async def get(self) -> dict:
        with self._lock:
            return dict(self.stream, sourceUrl=self.source_url)

    async def report(self, body: dict, retry: bool = False) -> dict:
        with self._lock:
            state = self.stream["state"]
            new = body.get("state", state)
            if new != state and new not in TRANSITIONS.get(state, ()):
                raise ApiError(409, "invalid_transition", f"{state} -> {new}")
            self.reports.append((time.monotonic(), dict(body)))
            self.stream.update({k: v for k, v in body.items() if k != "state"}, state=new)
            if new in ("ended", "failed"):
                self.stream["endedAt"] = _now()
            self._save()
            return dict(self.stream)

    # -- the host's side ------------------------------------------------------------------

    def ask(self, action: str, position: float | None = None) -> dict:
        """PATCH {action, position?} by a host: `requested` set; the stream as pushed."""
        with self._lock:
            requested = {"action": action, "at": _now()}
            if position is not None:
                requested["position"] = position
            self.stream["requested"] = requested
            self._save()
            return dict(self.stream)

    def stop(self) -> dict:
        """DELETE by a host: `stopping`."""
        with self._lock:
            self.stream["state"] = "stopping"
            self._save()
            return dict(self.stream)

    @property
    def state(self) -> str:
        return self.stream["state"]

    def states(self) -> list[str]:
        return [body["state"] for _, body in self.reports if "state" in body]

    def positions(self) -> list[tuple[float, float]]:
        return [(at, body["position"]) for at, body in self.reports if "position" in body]


def _now() -> str:
    time.sleep(0.001)  # two asks never share an `at`
    return datetime.now(UTC).isoformat(timespec="microseconds")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a reader that went away: normal
            super().handle_error(request, client_address)


def _serve(handler) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@contextlib.contextmanager
def served(directory):
    """`directory` over HTTP on 127.0.0.1 (with Range, as FFmpeg seeks); yields its base URL."""
    class Handler(_Quiet):
        def send_head(self):
            if "Range" not in self.headers:
                return super().send_head()
            return self._range()

        def _range(self):
            path = self.translate_path(self.path)
            try:
                data = open(path, "rb").read()  # noqa: SIM115 (small test files)
            except OSError:
                self.send_error(404)
                return None
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            return io.BytesIO(data[start:])

    server, _ = _serve(functools.partial(Handler, directory=str(directory)))
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def stalling(data: bytes, after: int):
    """A server of one file that sends at most its first `after` bytes (from any Range
    start) and then nothing, holding the connection; yields (URL, request count)."""
    requests = []
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.headers.get("Range"))
            start = int(self.headers["Range"].split("=")[1].split("-")[0]) if "Range" in self.headers else 0
            self.send_response(206 if start else 200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(data) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if start < after:
                self.wfile.write(data[start:after])
                self.wfile.flush()
            release.wait(120)

    server, _ = _serve(Handler)
    try:
        yield f"http://127.0.0.1:{server.server_port}/clip.mp4", requests
    finally:
        release.set()
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def silent_port():
    """A port that accepts connections and never says a word; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/clip.mp4"


def closed_port_url() -> str:
    """A URL on a loopback port nobody listens on: connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/clip.mp4"
