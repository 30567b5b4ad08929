"""The bots (recorders, streamers) this stack started (chalicelib's local launcher) stop when it stops.

Each bot leads a process group of its own (with whatever it starts), so stopping one is a
signal to its group: SIGTERM first, while the stack still answers, so a bot can finish as
it would in ECS (leave, store what it has, report); SIGKILL for any group still there
after the grace period. A bot's log stays in the log directory.
"""

import logging
import os
import signal
import subprocess
import time

log = logging.getLogger("devserver")
GRACE = 10.0  # seconds a bot gets to finish after SIGTERM


def _signal_group(proc: subprocess.Popen, signum: int) -> bool:
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError):
        return False  # the group is gone (or was never ours)
    return True


def stop_all(processes: list[subprocess.Popen], grace: float = GRACE) -> int:
    """SIGTERM the process group of every process still running, wait up to `grace` s,
    then SIGKILL the groups that remain; returns how many were running."""
    alive = [p for p in processes if p.poll() is None]
    if not alive:
        return 0
    log.info("stopping %d bot(s)", len(alive))
    for proc in alive:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in alive:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in alive:  # the leader may be gone while something it started is not
        if _signal_group(proc, signal.SIGKILL) and proc.poll() is None:
            log.warning("bot pid %d did not stop within %.0f s; killed", proc.pid, grace)
        proc.wait()
    return len(alive)


def stop_launched(launcher) -> int:
    """Stop what a local launcher started (any other launcher starts nothing here)."""
    running = getattr(launcher, "running", None)
    return stop_all(running()) if running is not None else 0
