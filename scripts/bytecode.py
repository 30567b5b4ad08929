"""Compiled bytecode inside the Lambda zips that `chalice package` and `chalice deploy` build.

chalice ships sources only, and Lambda's file system is read-only, so every cold start
would compile app.py, chalicelib, PynamoDB and botocore again: importing the app from the
packaged sources takes about three times as long as from bytecode (bench section 4).
The .pyc files are unchecked-hash ones, valid whatever times the files have after
unzipping, and are for this interpreter's version, which is the runtime chalice picked.
"""

import compileall
import py_compile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Where Lambda unpacks the function's zip and a layer's, so tracebacks name deployed paths.
FUNCTION_ROOT, LAYER_ROOT = "/var/task", "/opt"
DEPLOYED_AT = {"deployment.zip": FUNCTION_ROOT, "layer-deployment.zip": LAYER_ROOT}


def add_bytecode(zip_path: Path, deployed_at: str) -> int:
    """Rewrite `zip_path` with a .pyc beside every .py; returns how many were added."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as original:
            entries = [(info, original.read(info)) for info in original.infolist()]
            original.extractall(root)
        compileall.compile_dir(root, ddir=deployed_at, quiet=1, workers=1,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        known = {info.filename for info, _ in entries}
        added = sorted(p for p in root.rglob("*.pyc")
                       if p.relative_to(root).as_posix() not in known)
        if not added:  # chalice reuses a zip it built before: compiled already
            return 0
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
            add_bytecode(Path(path), deployed_at)
            return path
        return create_deployment_package

    for cls, deployed_at in targets.items():
        cls.create_deployment_package = compiled(cls, deployed_at)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.create_deployment_package = original
