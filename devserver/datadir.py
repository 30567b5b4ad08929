"""The data directory: what the local stack keeps so that a restart loses nothing.

`.parley/` at the repository root unless PARLEY_DATA_DIR names another; PARLEY_EPHEMERAL=1
keeps nothing (the tests run that way). It holds the token secret (`jwt-secret`), the local
TURN server's shared secret (`turn-secret`), the embedded DynamoDB's snapshot
(devserver/snapshots.py) and the embedded S3's objects (`s3/`), all readable by the owner
only, the recording bots' logs (`bots/`), and a `lock` file that one stack at a time holds:
two stacks restoring the same snapshot and then overwriting each other's would lose meetings.
"""

import fcntl
import os
import secrets
from pathlib import Path

from .environment import fail

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / ".parley"
SECRET_FILE = "jwt-secret"  # noqa: S105 (a file name)
TURN_SECRET_FILE = "turn-secret"  # noqa: S105 (a file name)
LOCK_FILE = "lock"


def resolve(env=os.environ) -> Path | None:
    """The data directory this run keeps its state in, or None when it keeps nothing."""
    ephemeral = env.get("PARLEY_EPHEMERAL", "").strip()
    where = env.get("PARLEY_DATA_DIR", "").strip()
    if ephemeral not in ("", "0", "1"):
        fail(f"PARLEY_EPHEMERAL={ephemeral!r}: use 1 to keep nothing, or leave it unset.")
    if ephemeral == "1":
        if where:
            fail(f"PARLEY_EPHEMERAL=1 keeps nothing, PARLEY_DATA_DIR={where!r} says where to keep "
                 "it: unset one of them.")
        return None
    return Path(where).expanduser().absolute() if where else DEFAULT


def shown(path: Path) -> str:
    """The path as the banner prints it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def prepare(path: Path) -> Path:
    """Create the directory (owner only) if needed; refuse one this process cannot write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        fail(f"cannot create the data directory {path}: {err.strerror or err}. Set "
             "PARLEY_DATA_DIR to a writable directory, or PARLEY_EPHEMERAL=1 to keep nothing.")
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        fail(f"the data directory {path} is not a writable directory. Set PARLEY_DATA_DIR to "
             "another, or PARLEY_EPHEMERAL=1 to keep nothing.")
    return path


def lock(path: Path) -> int:
    """Hold `path/lock` for the life of this process (the kernel lets go of it however the
    process ends, a kill included); refuse a directory another stack holds."""
    file = path / LOCK_FILE
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        fail(f"another local stack (pid {holder}) is using the data directory {path}. Stop it, "
             "or give this one its own: PARLEY_DATA_DIR=<another dir> (or PARLEY_EPHEMERAL=1).")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def token_secret(path: Path) -> str:
    """The token signing secret kept in `path/jwt-secret` (mode 0600), made on first use."""
    return _kept_secret(path / SECRET_FILE, "the token secret",
                        "every token issued with the old one stops working")


def turn_secret(path: Path) -> str:
    """The local TURN server's shared secret, kept in `path/turn-secret` like the token
    secret, so credentials handed out before a restart still work after it."""
    return _kept_secret(path / TURN_SECRET_FILE, "the TURN secret",
                        "TURN credentials issued with the old one stop working")


def _kept_secret(file: Path, what: str, consequence: str) -> str:
    """The secret in `file` (mode 0600), made with secrets.token_urlsafe(32) on first use."""
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
    try:
        secret = file.read_text().strip()
    except (OSError, UnicodeDecodeError) as err:
        fail(f"cannot read {what} {file}: {err}. Delete it to make a new one ({consequence}).")
    if len(secret) < 32:
        fail(f"{what} {file} is empty or too short. Delete it to make a new one ({consequence}).")
    return secret
