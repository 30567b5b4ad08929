"""The local stack as a process of its own, started the way `make run` starts it, on a free
loopback port: for the tests and the benchmarks, which talk to it over HTTP and WebSocket.

Its environment is clean: PARLEY_* and AWS_* settings of the caller are not passed on, so
it runs on its own embedded DynamoDB unless the caller says otherwise; and it keeps nothing
(PARLEY_EPHEMERAL=1: never the repository's .parley/) unless the caller passes a
PARLEY_DATA_DIR of its own. It starts no TURN server (TURN=off) unless the caller passes
TURN="on": most tests need none, and its relay candidates would only slow their calls.
"""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .http import fetch

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 120
# Every request of a test or benchmark comes from 127.0.0.1: no rate limit applies.
UNLIMITED = ("create=1e9/1e9,join=1e9/1e9,ticket=1e9/1e9,message=1e9/1e9,reaction=1e9/1e9,"
             "moderate=1e9/1e9,vote=1e9/1e9")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LocalStack:
    port: int
    log_path: Path | None = None
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + "/api"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log_tail(self, lines: int = 300) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stack_env(port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
    env.update(PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="INFO", PARLEY_RATE_LIMITS=UNLIMITED,
               TURN="off")
    if "PARLEY_DATA_DIR" not in extra:
        env["PARLEY_EPHEMERAL"] = "1"
    env.update(extra)
    return env


def _wait_healthy(stack: LocalStack, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local stack exited with {proc.returncode}:\n"
                               f"{stack.log_tail()}")
        try:
            if fetch(stack.url + "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local stack was not healthy after {STARTUP_TIMEOUT} s:\n"
                       f"{stack.log_tail()}")


@contextmanager
def running_stack(log_path: Path | None = None, port: int | None = None, **env):
    """A stack process with `stack_env(port, **env)`, healthy on entry, stopped (SIGTERM) on
    exit. Its output goes to `log_path`, or nowhere."""
    port = port or free_port()
    with open(log_path, "wb") if log_path else open(os.devnull, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "devserver"], cwd=ROOT,
                                env=stack_env(port, **env), stdout=log, stderr=subprocess.STDOUT)
    stack = LocalStack(port, log_path, proc.pid)
    try:
        _wait_healthy(stack, proc)
        yield stack
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except BaseException:  # interrupted (a test timeout, Ctrl-C): never leave it running
            proc.kill()
            raise
