"""Building for the Lambda runtime rather than the Python that runs the build."""

import subprocess
import sys
import zipfile

from chalice.config import Config
from chalice.deploy import appgraph, models

from scripts import runtime
from scripts.bytecode import add_bytecode
from scripts.chalice_cli import ChaliceCli

LOCAL = f"python{sys.version_info.major}.{sys.version_info.minor}"


def test_chalice_builds_every_function_and_the_layer_for_the_runtime_only_inside(tmp_path):
    cli = ChaliceCli()
    config = cli.config(cli.factory(environ={}), "dev", {})
    with runtime.lambda_runtime():
        assert config.lambda_python_version == runtime.LAMBDA_RUNTIME
        graph = appgraph.ApplicationGraphBuilder().build(config, "dev")
        resources = appgraph.DependencyBuilder().build_dependencies(graph)
    runtimes = {r.runtime for r in resources if isinstance(r, models.LambdaFunction)}
    runtimes |= {r.runtime for r in resources if isinstance(r, models.LambdaLayer)}
    assert runtimes == {runtime.LAMBDA_RUNTIME}
    assert config.lambda_python_version == LOCAL  # chalice's own rule again
    assert isinstance(Config.__dict__["lambda_python_version"], property)


def test_the_runtime_python_found_is_of_the_runtimes_version():
    python = runtime.runtime_python()
    assert python, "install the Lambda runtime's Python to build (docs/DEPLOY.md)"
    version = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == runtime.cache_tag() == "cpython-" + runtime.LAMBDA_RUNTIME[6:].replace(".", "")
    assert runtime.runtime_python(LOCAL) == sys.executable


def test_a_pyenv_shim_is_passed_over_for_the_newest_installed_patch_release(tmp_path,
                                                                          monkeypatch):
    shims, root = tmp_path / "shims", tmp_path / "pyenv"
    shims.mkdir()
    for path in [shims / "python3.42", *(root / "versions" / v / "bin" / "python3.42"
                                           for v in ("3.42.2", "3.42.10", "3.42.0t"))]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", str(shims))
    monkeypatch.setenv("PYENV_ROOT", str(root))
    assert runtime.runtime_python("python3.42") == str(root / "versions/3.42.10/bin/python3.42")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "nothing"))
    assert runtime.runtime_python("python3.42") is None


def test_without_the_runtimes_python_the_zip_keeps_its_sources_and_says_so(tmp_path, capsys,
                                                                         monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "x = 1\n")
    assert add_bytecode(archive, "/var/task", "python3.42") == 0
    assert zipfile.ZipFile(archive).namelist() == ["app.py"]
    assert "no Python 3.42 found" in capsys.readouterr().err
