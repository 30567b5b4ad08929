"""`python -m bench --quick` runs every section end to end (timings are not checked)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH_TIMEOUT = 600  # seconds for the whole quick run


# pytest's own timeout (pyproject: 300 s for every test) would cut this run short without
# its output; this one's is longer than the subprocess's, so the subprocess's fires first.
@pytest.mark.timeout(BENCH_TIMEOUT + 60)
def test_quick_bench_produces_every_section_without_failures(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    try:
        proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=BENCH_TIMEOUT)
    except subprocess.TimeoutExpired as err:  # its output so far is bytes, even with text=True
        output = b"".join(part or b"" for part in (err.stdout, err.stderr))
        pytest.fail(f"python -m bench --quick took over {BENCH_TIMEOUT} s; its output:\n"
                    + output.decode(errors="replace")[-5000:])
    report = out.read_text()
    assert proc.returncode == 0, report + proc.stderr[-3000:]
    for number in range(1, 13):
        assert f"## {number}. " in report
    assert "failed in this run" not in report
    targets = report.split("## Targets")[1]
    verdicts = targets.count("| met: ") + targets.count("| missed by ") + targets.count("| missed: ")
    assert verdicts == 10, targets
    assert "Machine:" in report
