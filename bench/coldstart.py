"""Cold start: import time of app.py against importing chalice alone, and package size."""

import os
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_ms(module: str) -> float:
    """Cumulative import time of `module` in a fresh interpreter (python -X importtime)."""
    env = dict(os.environ, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               PARLEY_JWT_SECRET="x" * 32, PYTHONDONTWRITEBYTECODE="0")
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


def package_size(package_dir: Path) -> dict | None:
    """Size of the Lambda deployment.zip from `chalice package`, if it has been built."""
    zips = list(package_dir.glob("**/deployment.zip"))
    if not zips:
        return None
    with zipfile.ZipFile(zips[0]) as z:
        names = z.namelist()
    return {"zip_bytes": zips[0].stat().st_size,
            "has_boto3": any(n.startswith(("boto3/", "botocore/")) for n in names),
            "files": len(names)}


def run(quick: bool = False) -> dict:
    return {"imports": import_times(3 if quick else 9),
            "package": package_size(ROOT / "build")}


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
    pkg = result["package"]
    if pkg:
        lines.append(f"\nDeployment package (`make package`): {pkg['zip_bytes'] / 1024:.0f} KiB, "
                     f"{pkg['files']} files, boto3 inside: {'yes' if pkg['has_boto3'] else 'no'}.")
    else:
        lines.append("\nDeployment package: not built in this run (`make package` builds it).")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(run()))
