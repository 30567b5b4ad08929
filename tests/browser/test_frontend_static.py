"""Checks on the shipped frontend files themselves (no browser needed)."""

import re
import subprocess
from pathlib import Path

from harness import frontend_size

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
SHIPPED = sorted(FRONTEND.glob("js/**/*.js")) + sorted(FRONTEND.glob("css/**/*.css"))


def test_javascript_and_css_before_the_room_is_painted_stay_within_30_kb_gzipped():
    weight = frontend_size.weight(FRONTEND)
    assert "js/main.js" in weight.first_paint and "css/app.css" in weight.first_paint
    assert weight.first_paint_total <= frontend_size.FIRST_PAINT_BUDGET, (
        f"{weight.first_paint_total} bytes gzip-transferred before the room is painted: "
        f"{weight.first_paint}; load what the first paint does not need with import()")


def test_all_shipped_javascript_and_css_stay_within_90_kb_gzipped():
    weight = frontend_size.weight(FRONTEND)
    assert set(weight.shipped) == {p.relative_to(FRONTEND).as_posix() for p in SHIPPED}
    assert weight.shipped_total <= frontend_size.ALL_BUDGET, (
        f"{weight.shipped_total} bytes of JS + CSS gzip-transferred: {weight.shipped}")


def test_the_first_paint_follows_static_imports_only(tmp_path):
    files = {
        "index.html": '<link rel="stylesheet" href="css/a.css">'
                      '<link rel="icon" href="img/icon.svg">'
                      '<script type="module" src="js/main.js"></script>',
        "css/a.css": "body { margin: 0 }",
        "img/icon.svg": "<svg/>",
        "js/main.js": "import config from '../config.js';\n"
                      "import {\n  a,\n  b,\n} from './a.js';\n"
                      "import './side.js';\n"
                      "// import {x} from './commented.js';\n"
                      "const later = () => import('./later.js');\n",
        "js/a.js": "export * from './b.js';\nexport {c as a} from \"./c.js\";\n",
        "js/b.js": "export const b = import('./later.js');\n",
        "js/c.js": "import {b} from './b.js';\nexport const c = b;\n",
        "js/side.js": "document.title = 'x';\n",
        "js/later.js": "import {c} from './c.js';\nexport default c;\n",
        "js/commented.js": "export const x = 1;\n",
        "config.js": "export default {};\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    weight = frontend_size.weight(tmp_path)
    assert list(weight.first_paint) == ["css/a.css", "js/main.js", "js/a.js", "js/side.js",
                                        "js/b.js", "js/c.js"]
    assert set(weight.shipped) == {"css/a.css", "js/main.js", "js/a.js", "js/b.js", "js/c.js",
                                   "js/side.js", "js/later.js", "js/commented.js"}
    assert weight.first_paint_total == sum(
        frontend_size.gzip_size(tmp_path / name) for name in weight.first_paint)


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


_KEY = re.compile(r"""(?:^|[{,\s])(\w+|'[^']+'):\s+['"]""")


def _keys(text: str) -> set[str]:
    return {key.strip("'") for key in _KEY.findall(text)}


def _section(text: str, name: str) -> str:
    """The body of `name: {...}` in a words module (no nested braces inside)."""
    start = text.index(f"{name}: {{")
    return text[start:text.index("\n  },", start)]


def test_every_string_of_the_page_has_its_chinese_words():
    base = (FRONTEND / "js/i18n.js").read_text()
    english = _keys(base[base.index("const en = {"):base.index("\n};")])
    chinese = _keys((FRONTEND / "js/i18n.zh.js").read_text())
    assert english - chinese == {"app"}  # the name, Parley, in every language
    for module in ("js/i18n.room.js", "js/ui/landing.js", "js/ui/waiting.js"):  # addWords
        words = (FRONTEND / module).read_text()
        assert _keys(_section(words, "en")) - _keys(_section(words, "zh")) == set(), module
        assert len(_keys(_section(words, "en"))) >= 8, module
