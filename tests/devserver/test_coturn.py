"""The local stack's TURN server process (devserver/coturn.py) with Debian's real coturn:
it answers on its port over UDP and TCP, and it never outlives the stack, whether the
stack stops it or is killed."""

import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from devserver import __main__ as stack_main
from devserver import coturn, environment
from harness.stack import ROOT

needs_coturn = pytest.mark.skipif(coturn.binary() is None,
                                  reason="coturn is not installed (make coturn installs it)")
SECRET = "s" * 43


def gone(pid: int) -> bool:
    """Not running: exited (and reaped), or a zombie nobody has reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@needs_coturn
def test_it_answers_over_udp_and_tcp_and_stop_ends_it_and_removes_its_files(tmp_path):
    server = coturn.Coturn(SECRET, tmp_path)
    server.start()
    try:
        server.wait_ready()
        conf = tmp_path / "coturn" / "turnserver.conf"
        assert conf.stat().st_mode & 0o077 == 0 and f"static-auth-secret={SECRET}" in conf.read_text()
        assert server.urls == [f"turn:127.0.0.1:{server.port}?transport=udp",
                               f"turn:127.0.0.1:{server.port}?transport=tcp"]
        assert coturn.stun_binding("127.0.0.1", server.port, "udp")
        assert coturn.stun_binding("127.0.0.1", server.port, "tcp")
        pid = server.pid
    finally:
        server.stop()
    assert wait_gone(pid, 1)  # stop() waited for it
    assert not coturn.stun_binding("127.0.0.1", server.port, "udp", timeout=0.3)
    assert not (tmp_path / "coturn").exists() and (tmp_path / "coturn.log").exists()


@needs_coturn
def test_a_killed_stack_takes_its_coturn_along(tmp_path):
    script = ("import sys, time; from pathlib import Path; from devserver.coturn import Coturn; "
              "c = Coturn('s' * 43, Path(sys.argv[1])); c.start(); c.wait_ready(); "
              "print(c.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert not gone(pid)
    finally:
        parent.kill()
        parent.wait()
    outlived = not wait_gone(pid)
    if outlived:
        os.kill(pid, signal.SIGKILL)
    assert not outlived, f"coturn {pid} outlived the process that started it"


def test_without_coturn_the_stack_says_so_in_one_line_and_runs_without_turn(monkeypatch, tmp_path,
                                                                             caplog):
    monkeypatch.setenv("PATH", str(tmp_path))  # no turnserver on it
    for name in ("TURN", "PARLEY_TURN_URLS", "PARLEY_TURN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with caplog.at_level(logging.WARNING, "devserver"):
        assert stack_main._start_turn(None) is None
    assert [r.getMessage() for r in caplog.records] == [
        "coturn is not installed (make coturn installs it): running without TURN"]
    assert "PARLEY_TURN_URLS" not in os.environ


def test_turn_off_or_a_turn_server_of_ones_own_starts_none(monkeypatch, caplog):
    monkeypatch.setenv("TURN", "off")
    assert stack_main._start_turn(None) is None
    assert stack_main._turn_shown(None) == "none (TURN=off)"
    monkeypatch.setenv("TURN", "on")
    monkeypatch.setenv("PARLEY_TURN_URLS", "turn:turn.example:3478")
    assert stack_main._start_turn(None) is None
    assert stack_main._turn_shown(None) == "turn:turn.example:3478 (PARLEY_TURN_URLS)"
    assert caplog.records == []


def test_turn_and_the_ice_policy_take_known_values_only(capsys):
    assert [environment.turn_wanted({"TURN": v}) for v in ("", "on", "off", " off ")] == [
        True, True, False, False]
    assert [environment.ice_policy({"PARLEY_ICE_POLICY": v}) for v in ("", "relay", "all")] == [
        None, "relay", "all"]
    with pytest.raises(SystemExit):
        environment.turn_wanted({"TURN": "no"})
    assert "TURN='no': use off" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        environment.ice_policy({"PARLEY_ICE_POLICY": "relay-only"})
    assert "use relay (every call through TURN) or all" in capsys.readouterr().err
