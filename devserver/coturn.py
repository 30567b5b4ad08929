"""A TURN server for the local stack: Debian's coturn as a child process on 127.0.0.1.

Pages that cannot reach each other directly (or are told to use relays only:
PARLEY_ICE_POLICY=relay) relay their media through it, as they would through a TURN server
in AWS. It checks the app's credentials itself (`use-auth-secret`, chalicelib/turn.py):
the stack hands the app the same secret (PARLEY_TURN_SECRET) and this server's URLs
(PARLEY_TURN_URLS), so the join response carries working, time-limited credentials.

One listening port for UDP and TCP, TURN's standard 3478 when it is free (so the URLs
pages got stay right across a restart), else any free one; no TLS (a page on this machine
needs none); relay ports from a window of RELAY_PORTS. Loopback peers are allowed: both
ends of a local call sit on 127.0.0.1, and coturn refuses relaying to loopback addresses
by default. Its configuration (which holds the secret, so it is not on the command line
for `ps` to show), database and pid file live in a private directory removed on stop:
`<data dir>/coturn/` (its log next to it, `coturn.log`, kept), or a temporary directory
when the stack keeps nothing.

The process dies with the stack: `stop()` sends SIGTERM, then SIGKILL after STOP_TIMEOUT;
and it is started with the parent-death signal set, so a killed stack takes it along.
Start it before the stack starts any thread: that signal is tied to the thread that forks.
"""

import ctypes
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger("devserver")

BINARY = "turnserver"
REALM = "parley.local"
HOST = "127.0.0.1"
STANDARD_PORT = 3478
RELAY_PORTS = 200  # how many relay ports (one per allocation) it may use
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_FIRST_RELAY_PORT, _LAST_RELAY_PORT = 49152, 65535
_PR_SET_PDEATHSIG = 1
_STUN_MAGIC = 0x2112A442
_BINDING_REQUEST, _BINDING_SUCCESS = 0x0001, 0x0101


class NotReady(RuntimeError):
    """coturn did not start, or did not answer on its port in time."""


def binary() -> str | None:
    """Where `turnserver` is on PATH (Debian's coturn: /usr/bin), or None."""
    return shutil.which(BINARY)


def free_port(preferred: int = STANDARD_PORT) -> int:
    """`preferred` if it is free on loopback for both UDP and TCP right now, else such a port."""
    for candidate in [preferred] + [0] * 50:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                tcp.bind((HOST, candidate))
                udp.bind((HOST, tcp.getsockname()[1]))
            except OSError:
                continue
            return tcp.getsockname()[1]
    raise NotReady("no loopback port is free for both UDP and TCP")


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Coturn:
    """`Coturn(secret).start()`, then `wait_ready()`; `urls` are what the app hands out."""

    def __init__(self, secret: str, data_dir: Path | None = None, executable: str | None = None):
        self.secret = secret
        self.executable = executable or binary()
        self.port = 0
        self.relay_ports = (0, 0)
        self._data_dir = data_dir
        self._workdir: Path | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def urls(self) -> list[str]:
        return [f"turn:{HOST}:{self.port}?transport=udp", f"turn:{HOST}:{self.port}?transport=tcp"]

    @property
    def log_path(self) -> Path:
        return (self._data_dir or self._workdir) / "coturn.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def describe(self) -> str:
        first, last = self.relay_ports
        return (f"coturn at turn:{HOST}:{self.port} (UDP and TCP), relay ports {first}-{last}, "
                f"log {self.log_path}")

    def start(self) -> None:
        """Spawn coturn on a free port; it is ready once `wait_ready()` returns."""
        if not self.executable:
            raise NotReady(f"{BINARY} (coturn) is not installed")
        if self._data_dir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="parley-coturn-"))
        else:  # what a killed run left there goes
            self._workdir = self._data_dir / "coturn"
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir.mkdir(mode=0o700)
        self.port = free_port()
        first = random.randrange(_FIRST_RELAY_PORT, _LAST_RELAY_PORT - RELAY_PORTS, 2)
        self.relay_ports = (first, first + RELAY_PORTS - 1)
        conf = self._workdir / "turnserver.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self._config())
        with open(self.log_path, "wb") as log_file:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [self.executable, "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT, cwd=self._workdir, start_new_session=True,
                preexec_fn=_die_with_parent)  # see the module's docstring: no thread yet

    def _config(self) -> str:
        first, last = self.relay_ports
        lines = [
            f"listening-ip={HOST}", f"relay-ip={HOST}", f"listening-port={self.port}",
            f"min-port={first}", f"max-port={last}",
            "no-tls", "no-dtls", "no-cli", "no-rfc5780", "no-software-attribute",
            f"realm={REALM}", "use-auth-secret", f"static-auth-secret={self.secret}",
            "fingerprint", "no-multicast-peers",
            "allow-loopback-peers",  # both ends of a local call are on 127.0.0.1
            "log-file=stdout", "simple-log",
            f"userdb={self._workdir / 'turndb'}", f"pidfile={self._workdir / 'turnserver.pid'}",
        ]
        return "\n".join(lines) + "\n"

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once coturn answers a STUN Binding request over UDP and over TCP; raise
        NotReady (with the end of its log) if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        pending = ["udp", "tcp"]
        while pending:
            if self._proc.poll() is not None:
                raise NotReady(f"coturn exited with {self._proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise NotReady(f"coturn did not answer on port {self.port} within {timeout:.0f} s: "
                               f"{self.log_tail()}")
            if stun_binding(HOST, self.port, pending[0], timeout=0.5):
                pending.pop(0)
            else:
                time.sleep(0.05)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; the temporary directory goes too."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("coturn did not stop within %.0f s of SIGTERM: killed", STOP_TIMEOUT)
                proc.kill()
                proc.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def stun_binding(host: str, port: int, transport: str = "udp", timeout: float = 1.0) -> bool:
    """Whether a STUN server answers a Binding request (RFC 5389) on host:port."""
    tid = secrets.token_bytes(12)
    request = struct.pack("!HHI", _BINDING_REQUEST, 0, _STUN_MAGIC) + tid
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    try:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.settimeout(timeout)
            sock.connect((host, port))
            sock.sendall(request)
            header = sock.recv(2048)
    except OSError:
        return False
    return (len(header) >= 20 and struct.unpack("!H", header[:2])[0] == _BINDING_SUCCESS
            and header[8:20] == tid)
