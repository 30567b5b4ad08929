"""Start the servers a benchmark measures, each as its own process on a free local port."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERJS_DIR = ROOT / "bench" / "peerjs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback only)
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


@contextlib.contextmanager
def local_stack(log_level: str = "WARNING", **extra_env):
    """`python -m devserver` on a free loopback port; yields (base URL, process)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PARLEY_") or k in ("PARLEY_RATE_LIMITS",)}
    env.update(PORT=str(port), HOST="127.0.0.1", LOG_LEVEL=log_level, **extra_env)
    proc = subprocess.Popen([sys.executable, "-m", "devserver"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/health", proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ensure_peerjs() -> Path:
    """Install the pinned PeerJS server from the npm registry on first use."""
    binary = PEERJS_DIR / "node_modules" / ".bin" / "peerjs"
    if not binary.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=PEERJS_DIR,
                       check=True)
    return binary


@contextlib.contextmanager
def peerjs_server():
    """The PeerJS signaling server on a free loopback port; yields its ws:// URL."""
    binary = ensure_peerjs()
    port = free_port()
    proc = subprocess.Popen([str(binary), "--port", str(port), "--path", "/"], cwd=PEERJS_DIR,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("PeerJS server did not start")
            time.sleep(0.1)
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
