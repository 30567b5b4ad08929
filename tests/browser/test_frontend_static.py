"""Checks on the shipped frontend files themselves (no browser needed)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
SHIPPED = sorted(FRONTEND.glob("js/**/*.js")) + sorted(FRONTEND.glob("css/**/*.css"))


def test_shipped_javascript_and_css_stay_under_60_kb():
    total = sum(p.stat().st_size for p in SHIPPED if p.name != "config.js")
    assert total < 60 * 1024, f"{total} bytes of JS + CSS"


def test_no_code_builds_html_from_strings_or_evaluates_text():
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")
    offenders = [f"{p.relative_to(FRONTEND)}:{n}" for p in SHIPPED if p.suffix == ".js"
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if sinks.search(line.split("//")[0])]
    assert offenders == []


def test_the_page_has_no_inline_script_style_or_handlers_and_a_strict_csp():
    html = (FRONTEND / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.findall(r"\son[a-z]+\s*=", html) == []
    assert re.findall(r"\sstyle\s*=|<style", html) == []
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "require-trusted-types-for 'script'" in csp


def test_config_js_is_generated_not_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/frontend/config.js" in ignored
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "frontend/config.js"],
                             cwd=ROOT, capture_output=True, text=True)
    # 1: not in the index (0 would be tracked; 128, git failing, proves nothing)
    assert tracked.returncode == 1, tracked.stdout + tracked.stderr
