"""Where the stack listens and which DynamoDB it uses, turned into the settings the app reads.

Everything here runs before `app` is imported: chalicelib reads its settings once, and the
PynamoDB models bind to the table and endpoint at import time.
"""

import errno
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
WS_API_ID = "local"
WS_STAGE = "ws"
_ANY = {"0.0.0.0", "::", ""}  # noqa: S104 (only used to recognise "all interfaces")


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def public_host(self) -> str:
        """A host a browser on this machine can use (an all-interfaces bind is not one)."""
        host = "localhost" if self.host in _ANY else self.host
        return f"[{host}]" if ":" in host else host

    @property
    def loopback_host(self) -> str:
        """How this process reaches itself (the @connections endpoint)."""
        if self.host in _ANY:
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def url(self) -> str:
        return f"http://{self.public_host}:{self.port}"


@dataclass(frozen=True)
class DataStore:
    """`embedded` (moto in this process), `endpoint` (e.g. DynamoDB Local) or `aws`.

    `kept_in`: the data directory an embedded store's items are kept in (None: not kept).
    """

    kind: str
    table: str
    endpoint: str | None = None
    kept_in: str | None = None

    def describe(self) -> str:
        if self.kind == "embedded":
            kept = (f"kept in {self.kept_in.rstrip('/')}/" if self.kept_in
                    else "in memory only, wiped on exit (PARLEY_EPHEMERAL=1)")
            return f"embedded DynamoDB (moto) at {self.endpoint}, {kept}"
        if self.kind == "endpoint":
            return f"DynamoDB at {self.endpoint}"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return f"AWS DynamoDB ({region})"


def fail(message: str) -> NoReturn:
    print(f"devserver: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def listen_address(env=os.environ) -> Listen:
    host = env.get("HOST", DEFAULT_HOST).strip() or DEFAULT_HOST
    raw = env.get("PORT", str(DEFAULT_PORT)).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        fail(f"PORT={raw!r} is not a TCP port (1-65535).")
    return Listen(host, int(raw))


def bind(listen: Listen) -> socket.socket:
    """Take the port now, before anything slow starts, and refuse a busy one clearly."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    try:
        return socket.create_server((listen.host, listen.port), family=family, backlog=128,
                                    dualstack_ipv6=listen.host == "::")
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            fail(f"port {listen.port} on {listen.host} is already in use. Stop whatever is "
                 f"using it, or pick another port: PORT={listen.port + 1} make run")
        fail(f"cannot listen on {listen.host}:{listen.port}: {err.strerror or err}")


def _has_aws_credentials(env) -> bool:
    return any(env.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE",
                                           "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                           "AWS_WEB_IDENTITY_TOKEN_FILE"))


def data_store(env=os.environ) -> DataStore:
    """An explicit endpoint wins; a named table plus AWS credentials means real AWS;
    otherwise moto runs in this process with a table of its own."""
    table = env.get("PARLEY_TABLE", "").strip()
    endpoint = env.get("PARLEY_DYNAMODB_ENDPOINT", "").strip()
    if endpoint:
        return DataStore("endpoint", table or "parley", endpoint)
    if table and _has_aws_credentials(env):
        return DataStore("aws", table)
    return DataStore("embedded", table or "parley")


def turn_wanted(env=os.environ) -> bool:
    """Whether the stack starts its own TURN server: unless TURN=off (docs/LOCAL.md, "TURN")."""
    value = env.get("TURN", "").strip()
    if value not in ("", "on", "off"):
        fail(f"TURN={value!r}: use off to run without a TURN server, or leave it unset.")
    return value != "off"


DEFAULT_WORKERS = 1


def workers(env=os.environ) -> int:
    """PARLEY_WORKERS: how many worker processes run the app's handlers (devserver/workers.py);
    0 runs them in the stack's own process."""
    value = env.get("PARLEY_WORKERS", "").strip()
    if not value:
        return DEFAULT_WORKERS
    if not value.isdigit() or int(value) > 16:
        fail(f"PARLEY_WORKERS={value!r}: use a number of worker processes from 0 (none: "
             "everything in one process) to 16, or leave it unset.")
    return int(value)


ICE_POLICIES = ("all", "relay")


def ice_policy(env=os.environ) -> str | None:
    """PARLEY_ICE_POLICY, the pages' iceTransportPolicy: `relay` makes every call go through
    TURN (to try it on one machine); unset, the browser's default (`all`)."""
    value = env.get("PARLEY_ICE_POLICY", "").strip()
    if value and value not in ICE_POLICIES:
        fail(f"PARLEY_ICE_POLICY={value!r}: use relay (every call through TURN) or all, "
             "or leave it unset.")
    return value or None


def site_origins(listen: Listen, env=os.environ) -> tuple[str, ...]:
    """The origins a page of this stack may be opened at: its URL, localhost and
    127.0.0.1 on its port, and PARLEY_SITE_URL's (a proxy in front of it)."""
    origins = [listen.url, f"http://localhost:{listen.port}", f"http://127.0.0.1:{listen.port}"]
    site = urlsplit(env.get("PARLEY_SITE_URL") or "")
    if site.scheme and site.netloc:
        origins.append(f"{site.scheme}://{site.netloc}")
    return tuple(dict.fromkeys(origins))


def signing_secret(env=os.environ) -> str | None:
    """The secret key the app signs with, when it is in the environment (the dummy one
    for the embedded services); None when boto3 finds it elsewhere (a profile)."""
    return env.get("AWS_SECRET_ACCESS_KEY") or None


def region(env=os.environ) -> str:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"


def apply(listen: Listen, store: DataStore, kept_secret=None, env=os.environ,
          bot_logs: str | None = None) -> None:
    """Set the app's settings (docs/API.md, "Settings") for this run. Unless one is set, the
    token secret is `kept_secret()` (the data directory's), or random for this run only.
    Recording bots run as subprocesses of this stack (logs in `bot_logs`, else a temp
    dir), call it on loopback, and may call back receivers on this machine."""
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region(env)
    if store.kind == "aws":
        env.pop("PARLEY_DYNAMODB_ENDPOINT", None)
    else:
        env["PARLEY_DYNAMODB_ENDPOINT"] = store.endpoint
        if store.kind == "embedded" or not _has_aws_credentials(env):
            # moto and DynamoDB Local accept any key; never send real ones to them.
            env["AWS_ACCESS_KEY_ID"] = "local"
            env["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 (a dummy, by design)
            for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
                env.pop(name, None)
        if store.kind == "embedded":
            env.pop("PARLEY_JWT_SECRET_PARAM", None)  # no SSM without an AWS account
    env["PARLEY_TABLE"] = store.table
    if not env.get("PARLEY_JWT_SECRET") and not env.get("PARLEY_JWT_SECRET_PARAM"):
        if kept_secret is not None:  # tokens outlive a restart
            env["PARLEY_JWT_SECRET"] = kept_secret()
        else:  # tokens end with the process
            env["PARLEY_JWT_SECRET"] = secrets.token_urlsafe(32)
    env["PARLEY_WS_API_ID"] = WS_API_ID
    env["PARLEY_WS_STAGE"] = WS_STAGE
    # Kept when set: behind a proxy or on a LAN address only the user knows the public URLs.
    env["PARLEY_WS_URL"] = env.get("PARLEY_WS_URL") or f"ws://{listen.public_host}:{listen.port}/ws"
    env["PARLEY_SITE_URL"] = env.get("PARLEY_SITE_URL") or f"{listen.url}/"
    env["PARLEY_BOT_LAUNCHER"] = "local"
    env["PARLEY_API_URL"] = f"http://{listen.loopback_host}:{listen.port}/api"
    env["PARLEY_ALLOW_PRIVATE_CALLBACKS"] = "1"
    env["PARLEY_ALLOW_PRIVATE_SOURCES"] = "1"  # streams of files served on this machine
    if bot_logs and not env.get("PARLEY_BOT_LOG_DIR"):
        env["PARLEY_BOT_LOG_DIR"] = bot_logs
