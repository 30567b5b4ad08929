"""The frontend's weight as the browser downloads it, gzip-compressed (DESIGN.md: JS + CSS
before the room is painted ≤ 30 KB, all ≤ 90 KB).

"Before the room is painted" is what index.html loads before any code runs on demand:
the stylesheets it links and its module scripts with everything they import statically
(`import ... from './x.js'`, `import './x.js'`, `export ... from './x.js'`), followed
file to file. A dynamic `import('./x.js')` is not followed: that is how a feature the
first paint does not need stays out of it. `config.js` is generated at run and deploy
time and is left out of both figures.

Sizes are gzip level 9, each file compressed on its own as HTTP sends it (CloudFront
compresses on the fly, with gzip or Brotli; level 6, gzip's default, comes out within
0.1% of level 9 on these files). Used by tests/browser/test_frontend_static.py and
bench/frontend.py.
"""

import gzip
import re
from dataclasses import dataclass
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
GZIP_LEVEL = 9
FIRST_PAINT_BUDGET = 30 * 1024  # bytes, gzip-transferred
ALL_BUDGET = 90 * 1024
GENERATED = ("config.js",)  # written next to index.html at run/deploy time, not shipped as is
CODE_SUFFIXES = (".js", ".mjs", ".css")

_TAG = re.compile(r"<(link|script)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Statements at the start of a line (or after a `;`), so `import(` and comments never match.
_STATIC_IMPORT = re.compile(r"""
    (?:^|;)[ \t]*
    (?: import (?:\s+[\w$*{}\s,]+?\s+from)?               # import x, {y} from / import
      | export\s+(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s+from  # export * / {x} from
    )
    \s*(["'])([^"'\n]+)\1                               # the module's URL
    """, re.MULTILINE | re.VERBOSE)


@dataclass(frozen=True)
class Weight:
    """Gzip-transferred bytes of each file, by path relative to frontend/."""

    first_paint: dict[str, int]
    shipped: dict[str, int]

    @property
    def first_paint_total(self) -> int:
        return sum(self.first_paint.values())

    @property
    def shipped_total(self) -> int:
        return sum(self.shipped.values())


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL, mtime=0))


def entry_points(frontend: Path = FRONTEND) -> tuple[list[Path], list[Path]]:
    """(stylesheets, scripts) that index.html loads, in document order."""
    frontend = frontend.resolve()
    stylesheets, scripts = [], []
    for tag, attrs in _TAG.findall((frontend / "index.html").read_text()):
        values = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(attrs)}
        if tag.lower() == "link" and "stylesheet" in values.get("rel", "").split():
            stylesheets.append(_resolve(frontend, frontend, values["href"], from_html=True))
        elif tag.lower() == "script" and "src" in values:
            scripts.append(_resolve(frontend, frontend, values["src"], from_html=True))
    return stylesheets, scripts


def static_imports(path: Path, frontend: Path = FRONTEND) -> list[Path]:
    """The modules `path` imports or re-exports statically, resolved to files."""
    frontend = frontend.resolve()
    return [_resolve(frontend, path.parent, match[1])
            for match in _STATIC_IMPORT.findall(path.read_text())]


def first_paint_files(frontend: Path = FRONTEND) -> list[Path]:
    """Stylesheets and the static module graph index.html loads, generated files left out."""
    frontend = frontend.resolve()
    stylesheets, pending = entry_points(frontend)
    seen: list[Path] = []
    while pending:
        path = pending.pop(0)
        if path in seen or _generated(path, frontend):
            continue
        seen.append(path)
        pending += static_imports(path, frontend)
    return [p for p in stylesheets if not _generated(p, frontend)] + seen


def shipped_files(frontend: Path = FRONTEND) -> list[Path]:
    """Every JS and CSS file the site publishes, generated files left out."""
    frontend = frontend.resolve()
    return sorted(p for p in frontend.rglob("*")
                  if p.is_file() and p.suffix in CODE_SUFFIXES and not _generated(p, frontend))


def weight(frontend: Path = FRONTEND) -> Weight:
    frontend = frontend.resolve()

    def sizes(paths):
        return {p.relative_to(frontend).as_posix(): gzip_size(p) for p in paths}

    return Weight(first_paint=sizes(first_paint_files(frontend)),
                  shipped=sizes(shipped_files(frontend)))


def _generated(path: Path, frontend: Path) -> bool:
    return path.relative_to(frontend).as_posix() in GENERATED


def _resolve(frontend: Path, base: Path, url: str, from_html: bool = False) -> Path:
    """A URL of the site as its file under frontend/.

    Relative (`./x.js`, `../x.js`; from index.html also `css/app.css`) and site-absolute
    (`/js/x.js`) URLs only: a bare module name or another origin is an error, as there is
    no build step and no third-party code to resolve it.
    """
    url = url.split("#")[0].split("?")[0]
    relative = url.startswith(("./", "../")) or (from_html and not re.match(r"[\w+.-]*:|/", url))
    if url.startswith("/") and not url.startswith("//"):
        path = frontend / url.lstrip("/")
    elif relative:
        path = base / url
    else:
        raise ValueError(f"{url!r} (from {base}) is not a file of the site")
    path = path.resolve()
    if not path.is_relative_to(frontend):
        raise ValueError(f"{url!r} (from {base}) points outside {frontend}")
    if not path.is_file() and not _generated(path, frontend):
        raise FileNotFoundError(f"{url!r} (from {base}) is not a file: {path}")
    return path
