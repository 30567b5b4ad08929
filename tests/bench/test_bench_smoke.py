"""`python -m bench --quick` runs every section end to end (timings are not checked)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_bench_produces_every_section_without_failures(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    report = out.read_text()
    assert proc.returncode == 0, report + proc.stderr[-3000:]
    for number in range(1, 7):
        assert f"## {number}. " in report
    assert "failed in this run" not in report
    targets = report.split("## Targets")[1]
    assert targets.count("| met: ") + targets.count("| missed by ") == 6, targets
    assert "Machine:" in report
