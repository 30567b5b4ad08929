"""The Lambda runtime Parley is built for, whichever Python runs the build.

chalice takes the functions' runtime from the interpreter running it: a deploy from a
Python 3.11 would ship to python3.11 (on Amazon Linux 2, and older than the code needs
to be). While `lambda_runtime()` is open, chalice builds for LAMBDA_RUNTIME instead: the
functions' and the layer's runtime, the layer's `python/lib/python3.X/site-packages`
folder and the wheels chalice picks for it all follow. The bytecode compiled into the
zips has to come from an interpreter of that version (`runtime_python`).

`python -m scripts.runtime <chalice arguments>` is chalice's own command line inside it
(what `make package` runs).
"""

import glob
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LAMBDA_RUNTIME = "python3.13"


def runtime_version(runtime: str = LAMBDA_RUNTIME) -> tuple[int, int]:
    """`python3.13` → (3, 13)."""
    major, minor = runtime.removeprefix("python").split(".")
    return int(major), int(minor)


def cache_tag(runtime: str = LAMBDA_RUNTIME) -> str:
    """The tag of that runtime's bytecode files: `cpython-313`."""
    major, minor = runtime_version(runtime)
    return f"cpython-{major}{minor}"


@contextmanager
def lambda_runtime(runtime: str = LAMBDA_RUNTIME) -> Iterator[None]:
    """While open, chalice's Config reports `runtime` as the functions' Python."""
    from chalice.config import Config

    original = Config.__dict__["lambda_python_version"]
    Config.lambda_python_version = property(lambda self: runtime)
    try:
        yield
    finally:
        Config.lambda_python_version = original


def runtime_python(runtime: str = LAMBDA_RUNTIME) -> str | None:
    """An interpreter of the runtime's version: this one, `python3.X` on PATH, or one
    pyenv installed; None when there is none."""
    major, minor = runtime_version(runtime)
    if sys.version_info[:2] == (major, minor):
        return sys.executable
    name = f"python{major}.{minor}"
    found = shutil.which(name)
    if found and not _is_pyenv_shim(found):
        return found
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    installed = glob.glob(os.path.join(root, "versions", f"{major}.{minor}.*", "bin", name))
    return max(installed, key=_patch_level) if installed else None


def _patch_level(path: str) -> int:
    """3.13.10 after 3.13.9; an unusual version folder (3.13.0t) sorts first."""
    patch = Path(path).parent.parent.name.rsplit(".", 1)[-1]
    return int(patch) if patch.isdigit() else -1


def _is_pyenv_shim(path: str) -> bool:
    """A pyenv shim is on PATH for every installed version but fails unless that version
    is selected; the interpreter itself is looked up under versions/ instead."""
    return os.sep + "shims" + os.sep in path


def main(argv: list[str] | None = None) -> int:
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *(sys.argv[1:] if argv is None else argv)]
    with lambda_runtime():
        return chalice_main()


if __name__ == "__main__":
    sys.exit(main())
