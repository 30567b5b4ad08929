"""The embedded DynamoDB reaches into moto's internals: on any other moto it refuses to start,
and `make run` says so in one line."""

import importlib.metadata
import re
import subprocess
import sys

import pytest

from devserver import embedded_dynamodb
from devserver.embedded_dynamodb import MOTO_VERSION, EmbeddedDynamoDB, UnsupportedMoto
from harness.stack import ROOT, free_port, stack_env


def test_the_version_the_overrides_were_written_for_is_the_pinned_one():
    pins = (ROOT / "requirements-local.txt").read_text()
    assert re.search(rf"^moto\[[^\]]*\]=={re.escape(MOTO_VERSION)}$", pins, re.M), pins
    assert importlib.metadata.version("moto") == MOTO_VERSION


def test_another_moto_is_refused_naming_both_versions_and_what_to_do(monkeypatch):
    monkeypatch.setattr(embedded_dynamodb.importlib.metadata, "version",
                        lambda name: "9.9.9" if name == "moto" else "0")
    with pytest.raises(UnsupportedMoto) as refused:
        EmbeddedDynamoDB(port=0)
    message = str(refused.value)
    assert "moto 9.9.9 is installed" in message and f"moto {MOTO_VERSION}" in message
    assert "pip install -r requirements-local.txt" in message


def test_make_run_reports_another_moto_in_one_line_without_a_traceback():
    script = ("import importlib.metadata, runpy\n"
              "importlib.metadata.version = lambda name: '9.9.9'\n"
              "runpy.run_module('devserver', run_name='__main__')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=stack_env(free_port()),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("devserver: moto 9.9.9 is installed"), lines
    assert "Traceback" not in result.stderr + result.stdout
