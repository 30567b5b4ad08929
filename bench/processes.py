"""Start the servers a benchmark measures, each as its own process on a free local port."""

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

from harness.stack import free_port, running_stack

ROOT = Path(__file__).resolve().parent.parent
PEERJS_DIR = ROOT / "bench" / "peerjs"


@contextlib.contextmanager
def local_stack(**extra_env):
    """`python -m devserver` on a free loopback port, quiet; yields (base URL, process id)."""
    with running_stack(LOG_LEVEL="WARNING", **extra_env) as stack:
        yield stack.url, stack.pid


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


def descendants(pid: int) -> list[int]:
    """The process ids of `pid`'s children, theirs, and so on (a stack's workers and bots)."""
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:  # the task or process has ended meanwhile
                continue
            found += children
            todo += children
    return found


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` alone has used so far (from /proc)."""
    return sum(int(f) for f in _stat(pid)[11:13]) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc), with that of its
    descendants: the running ones, and those that ended and were waited for."""
    cpu = sum(int(f) for f in _stat(pid)[11:15]) / os.sysconf("SC_CLK_TCK")  # with cutime, cstime
    for child in descendants(pid):
        try:
            cpu += own_cpu_seconds(child)
        except OSError:  # ended meanwhile (and counted in its parent's cutime once waited for)
            pass
    return cpu
