"""Compiled bytecode inside the Lambda zips that `chalice package` and `chalice deploy` build.

chalice ships sources only, and Lambda's file system is read-only, so every cold start
would compile app.py, chalicelib, PynamoDB and botocore again: importing the app from the
packaged sources takes about three times as long as from bytecode (bench section 4).
The .pyc files are unchecked-hash ones, valid whatever times the files have after
unzipping, compiled by an interpreter of the Lambda runtime's version (scripts/runtime.py),
which need not be the one running the build. Without one the zips ship sources only,
with a warning.
"""

import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.runtime import LAMBDA_RUNTIME, cache_tag, runtime_python

# Where Lambda unpacks the function's zip and a layer's, so tracebacks name deployed paths.
FUNCTION_ROOT, LAYER_ROOT = "/var/task", "/opt"
DEPLOYED_AT = {"deployment.zip": FUNCTION_ROOT, "layer-deployment.zip": LAYER_ROOT}


def compile_tree(root: Path, deployed_at: str, runtime: str = LAMBDA_RUNTIME) -> bool:
    """Compile every .py under `root` with the runtime's Python, naming the files as they
    will be deployed in tracebacks; False when no such Python is installed."""
    python = runtime_python(runtime)
    if python is None:
        print(f"warning: no Python {runtime.removeprefix('python')} found (the Lambda runtime "
              f"is {runtime}): the Lambda zips ship sources only and every cold start compiles "
              "them; install it (python3.X on PATH, or with pyenv) and build again",
              file=sys.stderr)
        return False
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [python, "-m", "compileall", "-q", "-j", "1", "-d", deployed_at,
         "--invalidation-mode", "unchecked-hash", str(root)],
        check=False, stdout=subprocess.DEVNULL)  # a file that does not compile stays source
    return True


def compiled_name(source: str, runtime: str = LAMBDA_RUNTIME) -> str:
    """`chalicelib/push.py` → `chalicelib/__pycache__/push.cpython-313.pyc`."""
    folder, _, module = source.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{cache_tag(runtime)}.pyc"


def add_bytecode(zip_path: Path, deployed_at: str, runtime: str = LAMBDA_RUNTIME) -> int:
    """Rewrite `zip_path` with a .pyc for `runtime` beside every .py, and no other .pyc
    (chalice copies chalicelib/__pycache__ from the working tree, compiled by whichever
    Python ran there); returns how many were added."""
    with zipfile.ZipFile(zip_path) as original:
        names = set(original.namelist())
        sources = [n for n in names if n.endswith(".py")]
        if all(compiled_name(n, runtime) in names for n in sources):
            return 0  # chalice reuses a zip it built before: compiled already
        entries = [(info, original.read(info)) for info in original.infolist()
                   if not info.filename.endswith(".pyc")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for info, data in entries:
            if not info.is_dir():
                (root / info.filename).parent.mkdir(parents=True, exist_ok=True)
                (root / info.filename).write_bytes(data)
        if not compile_tree(root, deployed_at, runtime):
            return 0
        added = sorted(root.rglob("*.pyc"))
        rewritten = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as out:
            for info, data in entries:
                out.writestr(info, data)
            for path in added:
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), (1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, path.read_bytes())
        rewritten.replace(zip_path)
        return len(added)


def add_bytecode_to_package(out_dir: Path) -> dict[str, int]:
    """Bytecode into each Lambda zip chalice wrote to `out_dir`."""
    return {name: add_bytecode(out_dir / name, at) for name, at in DEPLOYED_AT.items()
            if (out_dir / name).exists()}


@contextmanager
def compiled_deploy_packages() -> Iterator[None]:
    """While open, every zip chalice's deployer builds or reuses gets bytecode.

    chalice deploy builds and uploads in one call, with no step between to hook, so the
    packagers themselves are wrapped.
    """
    from chalice.deploy import packager

    targets = {packager.AppOnlyDeploymentPackager: FUNCTION_ROOT,
               packager.LambdaDeploymentPackager: FUNCTION_ROOT,
               packager.LayerDeploymentPackager: LAYER_ROOT}
    originals = {cls: cls.__dict__["create_deployment_package"] for cls in targets}

    def compiled(cls, deployed_at):
        def create_deployment_package(self, project_dir, python_version):
            path = originals[cls](self, project_dir, python_version)
            add_bytecode(Path(path), deployed_at, python_version)
            return path
        return create_deployment_package

    for cls, deployed_at in targets.items():
        cls.create_deployment_package = compiled(cls, deployed_at)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.create_deployment_package = original
