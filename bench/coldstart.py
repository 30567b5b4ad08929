"""Cold start: import time of app.py against importing chalice alone, the same import laid
out as Lambda runs the package (sources only, and with the bytecode `make package` adds)
in the Lambda runtime's Python, and the package's size."""

import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from scripts.runtime import LAMBDA_RUNTIME, runtime_python

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "build" / "bench-package"
_ENV = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "PARLEY_JWT_SECRET": "x" * 32}


def _import_ms(module: str) -> float:
    """Cumulative import time of `module` in a fresh interpreter (python -X importtime)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | _ENV
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    for line in reversed(proc.stderr.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"no importtime line for {module}")


def import_times(runs: int) -> dict:
    _import_ms("app")  # warm the bytecode cache, as a deployed package has it
    app = [_import_ms("app") for _ in range(runs)]
    chalice = [_import_ms("chalice") for _ in range(runs)]
    return {"app_ms": statistics.median(app), "chalice_ms": statistics.median(chalice),
            "runs": runs}


def build_package() -> Path:
    """`make package`'s zips (stage dev) in build/bench-package."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    subprocess.run([sys.executable, "-m", "scripts.package", "--stage", "dev", "--out",
                    str(PACKAGE_DIR)], cwd=ROOT, env=env, check=True, capture_output=True)
    return PACKAGE_DIR


def package_size(package_dir: Path) -> dict:
    """Size and contents of the function zip and the dependency layer zip."""
    result = {}
    for name in ("deployment.zip", "layer-deployment.zip"):
        with zipfile.ZipFile(package_dir / name) as z:
            names = z.namelist()
        result[name] = {"bytes": (package_dir / name).stat().st_size, "files": len(names),
                        "has_boto3": any("boto3/" in n for n in names)}
    return result


def _unpack(package_dir: Path, into: Path, bytecode: bool) -> list[str]:
    """The function zip as /var/task and the layer as /opt (boto3 included), optionally
    without .pyc files."""
    task, opt = into / "task", into / "opt"
    for name, where in (("deployment.zip", task), ("layer-deployment.zip", opt)):
        with zipfile.ZipFile(package_dir / name) as z:
            z.extractall(where, [n for n in z.namelist() if bytecode or not n.endswith(".pyc")])
    return [str(task), str(opt / "python" / "lib" / LAMBDA_RUNTIME / "site-packages")]


def _lambda_import_ms(paths: list[str]) -> float:
    """Wall time of `import app` with only the stdlib and `paths`; nothing is written."""
    code = ("import sys, time; sys.path[:0] = sys.argv[1:]; t = time.perf_counter(); "
            "import app; print((time.perf_counter() - t) * 1000)")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1") | _ENV
    python = runtime_python()
    if python is None:
        raise RuntimeError(f"the Lambda runtime's Python ({LAMBDA_RUNTIME}) is not installed")
    proc = subprocess.run([python, "-S", "-c", code, *paths], cwd="/", env=env,
                          capture_output=True, text=True, check=True)
    return float(proc.stdout.strip())


def lambda_imports(package_dir: Path, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = {}
        for label, bytecode in (("source_ms", False), ("bytecode_ms", True)):
            paths = _unpack(package_dir, Path(tmp) / label, bytecode)
            result[label] = statistics.median(_lambda_import_ms(paths) for _ in range(runs))
        return result


def run(quick: bool = False) -> dict:
    runs = 3 if quick else 9
    result = {"imports": import_times(runs)}
    if not quick:  # building the package downloads wheels; the smoke run skips it
        package_dir = build_package()
        result |= {"package": package_size(package_dir),
                   "lambda": lambda_imports(package_dir, runs)}
    return result


def markdown(result: dict) -> str:
    imp = result["imports"]
    lines = [
        "| import | median ms |", "|---|---|",
        f"| `import chalice` (baseline) | {imp['chalice_ms']:.1f} |",
        f"| `import app` (all of Parley) | {imp['app_ms']:.1f} |",
        "",
        f"Ratio app / chalice: **{imp['app_ms'] / imp['chalice_ms']:.2f}×** "
        f"(median of {imp['runs']} fresh interpreters; target: app under 150 ms).",
    ]
    if "lambda" in result:
        lam = result["lambda"]
        lines += [
            "",
            "The same import laid out as Lambda runs the package (function zip, dependency "
            f"layer with boto3; {LAMBDA_RUNTIME}, stdlib only, read-only, wall time):",
            "", "| package | median ms |", "|---|---|",
            f"| sources only, as `chalice package` builds it | {lam['source_ms']:.1f} |",
            f"| with the bytecode `make package` and `make deploy` add | {lam['bytecode_ms']:.1f} |",
            "",
            f"Shipping bytecode saves **{lam['source_ms'] - lam['bytecode_ms']:.0f} ms** of every "
            "cold start: Lambda's file system is read-only, so without it every cold start "
            "compiles app, chalicelib, PynamoDB and botocore again.",
        ]
    for name, pkg in result.get("package", {}).items():
        lines.append(f"\n`{name}` (`make package`): {pkg['bytes'] / 1024:.0f} KiB, "
                     f"{pkg['files']} files, boto3 inside: {'yes' if pkg['has_boto3'] else 'no'}.")
    if "package" not in result:
        lines.append("\nDeployment package: not built in a quick run.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
