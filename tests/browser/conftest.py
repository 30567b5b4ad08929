"""Real Chromium (Debian's, driven by Playwright) against the local stack.

One browser per session; every simulated person gets a fresh browser context (own
storage, own fake camera and microphone). Console errors and page errors are collected per
page so a test can assert there were none.
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import chromium
from harness.http import fetch

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
RTC_TRACE = Path(__file__).with_name("rtc_trace.js")
WAIT_MS = 90_000  # media over a mesh on two shared cores can take a while; never a timing assert


@dataclass
class Person:
    """One browser tab with its console errors (console.error and uncaught exceptions), and
    its warnings, which only a failing test's report shows."""

    page: object
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def __getattr__(self, name):
        return getattr(self.page, name)


# One Playwright and one Chromium per process, even when another suite imports these
# fixtures (a second sync Playwright in the same thread cannot start): shared, ref-counted.
_shared = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    if not chromium.CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make chromium installs it)")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    if not _shared["users"]:
        _shared["playwright"] = sync_playwright().start()
        _shared["browser"] = chromium.launch(_shared["playwright"])
    _shared["users"] += 1
    try:
        yield _shared["browser"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _shared["browser"].close()
            _shared["playwright"].stop()


@pytest.fixture(scope="session")
def launch_browser(browser):
    """launch_browser(*extra_args) -> one more Chromium on the shared Playwright, with the usual
    flags and then extra_args (say, another autoplay policy); closed at the end of the session."""
    launched = []

    def launch(*extra_args):
        launched.append(chromium.launch(_shared["playwright"], extra_args))
        return launched[-1]

    yield launch
    for other in launched:
        other.close()


@pytest.fixture
def people(browser, stack):
    """people(n, init_script=None, in_browser=None) -> n Person tabs, each in its own context
    (of the shared browser, or of in_browser); closed after the test."""
    contexts = []

    def make(n=1, init_script=None, in_browser=None):
        return [open_person(in_browser or browser, stack.url, contexts, init_script) for _ in range(n)]

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def relayed_pair(browser, turn_stack):
    """Two Person tabs on the turn_stack, whose pages relay every call through its coturn."""
    contexts = []
    yield [open_person(browser, turn_stack.url, contexts) for _ in range(2)]
    for context in contexts:
        context.close()


def open_person(browser, base_url, contexts, init_script=None):
    """A Person tab in a new context of `browser` on `base_url`, the context added to
    `contexts` (the caller closes them)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=base_url)
    if init_script:
        context.add_init_script(init_script)
    context.add_init_script(path=str(RTC_TRACE))
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    person = Person(page)
    page.on("console", lambda m, p=person: m.type == "error" and p.errors.append(m.text))
    page.on("console", lambda m, p=person: m.type == "warning"
            and p.warnings.append(f"{time.monotonic():.3f} {m.text}"))
    page.on("pageerror", lambda e, p=person: p.errors.append(str(e)))
    return person


def api_call(stack, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    status, _, raw = fetch(stack.api + path, method, data, {"Content-Type": "application/json"})
    assert status < 400, raw
    return json.loads(raw or b"{}")


@pytest.fixture
def meeting(stack):
    """meeting(**body) -> a new meeting's id, created over the REST API."""
    def make(name="Browser test", **body):
        return api_call(stack, "POST", "/meetings", {"name": name, **body})["meeting"]["id"]
    return make


def join(person, mid, name, passcode=None):
    """Open the meeting link, fill the pre-join form, join, and wait for the room."""
    person.goto(f"/#/{mid}")
    person.fill("#display-name", name)
    if passcode:
        person.fill("#passcode", passcode)
    person.click("#join-button")
    person.wait_for_selector(".room")
    return person.evaluate("window.__parley.me")


def host_meeting(stack, name="Tools"):
    """A new meeting and its host key."""
    created = api_call(stack, "POST", "/meetings", {"name": name})
    return created["meeting"]["id"], created["hostKey"]


def join_as_host(person, mid, host_key, name):
    """The page that created a meeting keeps its host key in sessionStorage and joins as host."""
    person.goto("/")
    person.evaluate("([k, v]) => sessionStorage.setItem(k, JSON.stringify(v))",
                    [f"parley.host.{mid}", host_key])
    return join(person, mid, name)


def ada_bob_and_cy(people, stack, host=False):
    """Three pages in one new meeting, Ada first (its host when `host`), each with the room's
    tools loaded: (pages, participant ids)."""
    mid, key = host_meeting(stack)
    pages = people(3)
    ids = [join_as_host(pages[0], mid, key, "Ada") if host else join(pages[0], mid, "Ada"),
           join(pages[1], mid, "Bob"), join(pages[2], mid, "Cy")]
    for person in pages:
        tools_ready(person)
    return mid, pages, ids


def tools_ready(person):
    person.wait_for_selector("#toggle-chat")


TILES = """() => [...document.querySelectorAll('.tile')].map(t => {
  const v = t.querySelector('video');
  return {pid: t.dataset.pid, self: t.classList.contains('self'), media: t.dataset.media, width: v.videoWidth,
    paused: v.paused, readyState: v.readyState, muted: v.muted, error: v.error?.message || null,
    tracks: (v.srcObject?.getTracks() || []).map(k => `${k.kind} ${k.readyState}${k.muted ? ' muted' : ''}`)};
})"""


def wait_until(person, fn, arg=None, timeout=WAIT_MS):
    """Poll `fn` (may be async) in the page until it returns something truthy, and return that.
    Playwright's wait_for_function does not await a promise: any async predicate passes at once."""
    deadline = time.monotonic() + timeout / 1000
    while not (result := person.evaluate(fn, arg)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still falsy after {timeout} ms: {fn}")
        person.wait_for_timeout(250)
    return result


def wait_remote_videos_playing(person, count):
    """`count` remote tiles whose video has a size, and each peer's decoded frames growing."""
    try:
        person.wait_for_function(
            """n => {
              const tiles = [...document.querySelectorAll('.tile:not(.self)')];
              return tiles.length === n && tiles.every(t => t.querySelector('video').videoWidth > 0
                && t.dataset.media === 'flowing');
            }""", arg=count, timeout=WAIT_MS)
        before = person.evaluate("async () => await window.__parley.stats()")
        assert len(before) == count
        wait_until(person, """async before => {
          const now = await window.__parley.stats();
          return Object.entries(before).every(([pid, s]) => now[pid]?.framesDecoded > s.framesDecoded);
        }""", arg=before)
    except Exception as err:  # say what the page looked like, not only that it timed out
        tiles = person.evaluate(TILES)
        stats = person.evaluate("async () => window.__parley && await window.__parley.stats()")
        trace = save_rtc_traces(person)
        raise AssertionError(f"{count} remote videos not playing; tiles {tiles}; peers {stats}; "
                             f"console errors {person.errors}; "
                             f"last warnings {person.warnings[-20:]}; "
                             f"every page's peer connections in {trace}") from err


def quality_details(person, pid):
    """Open the connection details of `pid`'s tile (a click on its bars) once they show a
    connection with a received bitrate, read them ({rtt, loss, bitrate, resolution, path}: the
    text of each row) and close them with Escape."""
    bars = f'.tile[data-pid="{pid}"] .quality'
    person.wait_for_selector(f'{bars}:not([data-level="0"])')
    person.click(bars)
    person.wait_for_selector("#quality-details dd[data-row=bitrate]:has-text('bit/s')")
    rows = person.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#quality-details dd')]
      .map((dd) => [dd.dataset.row, dd.textContent]))""")
    person.keyboard.press("Escape")
    person.wait_for_selector("#quality-details", state="detached")
    return rows


def save_rtc_traces(person):
    """Every open page's RTCPeerConnection history (rtc_trace.js), as JSON in test-artifacts/."""
    pages = {}
    for context in person.page.context.browser.contexts:
        for page in context.pages:
            me = page.evaluate("window.__parley?.me || null")
            pages[f"{me} {page.url}"] = page.evaluate("window.__rtcTrace ? window.__rtcTrace() : []")
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"rtc-trace-{int(time.time())}.json"
    path.write_text(json.dumps(pages, indent=1))
    return path


def save_screenshot(person, name):
    """Screenshot into test-artifacts/ (git-ignored). Tests never write docs/img/: the
    README's picture is refreshed on purpose with `make screenshot`."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    person.screenshot(path=str(path))
    return path
