"""Playing media from the page, in real Chromium, on a stack whose launcher starts a
stand-in bot (tests/fixtures/fake_recorder.py) that the test then plays over REST: the
host picks a file in the "Play media" dialog, it is uploaded with a progress bar straight
to the stack's S3 and the stream is started; the streamer's tile shows for everyone with
its title and a "media" tag, with pause and stop for the host only; a failure is told to
the host. The streamer bot's own end (decoding, sending, a page seeing its frames) is
tested with the real bot in tests/bots."""

import json
import time

import pytest

from harness.http import fetch
from harness.stack import running_stack

from .conftest import WAIT_MS, api_call, join, join_as_host, open_person, tools_ready

CLIP = b"\x1aE\xdf\xa3" + bytes(range(256)) * 800  # ~200 KB that say they are a WebM


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("play-media-bots")


@pytest.fixture(scope="module")
def media_stack(tmp_path_factory, bot_dir):
    with running_stack(tmp_path_factory.mktemp("play-media") / "devserver.log",
                       PARLEY_BOT_MODULE="tests.fixtures.fake_recorder",
                       PARLEY_BOT_WORKDIR=str(bot_dir)) as stack:
        yield stack


@pytest.fixture
def two_pages(browser, media_stack):
    contexts = []
    yield [open_person(browser, media_stack.url, contexts) for _ in range(2)]
    for context in contexts:
        context.close()


def launched(bot_dir) -> dict:
    deadline = time.monotonic() + 60
    while not (found := list(bot_dir.glob("*.json"))):
        assert time.monotonic() < deadline, "no streamer was started"
        time.sleep(0.1)
    return json.loads(found[0].read_text())["env"]


def rest(stack, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"}
                                                      if token else {})}
    status, _, raw = fetch(stack.api + path, method,
                           json.dumps(body).encode() if body is not None else None, headers)
    assert status < 400, raw
    return json.loads(raw or b"{}")


def test_a_host_uploads_a_file_with_progress_and_everyone_sees_the_media_tile(
        media_stack, two_pages, bot_dir):
    stack = media_stack
    ada, bob = two_pages
    created = api_call(stack, "POST", "/meetings", {"name": "Lesson"})
    mid = created["meeting"]["id"]
    join_as_host(ada, mid, created["hostKey"], "Ada")
    join(bob, mid, "Bob")
    for page in (ada, bob):
        tools_ready(page)

    ada.click("#host-controls")
    ada.click('#meeting-menu >> text="Play media"')
    ada.set_input_files("#media-file", files=[{"name": "Lesson 1.webm", "mimeType": "video/webm",
                                                "buffer": CLIP}])
    ada.check("#media-loop")
    ada.evaluate("""() => { window.__progress = []; const bar = document.querySelector('#media-progress');
      const watch = setInterval(() => { if (!bar.isConnected) return clearInterval(watch);
        if (!bar.hidden) window.__progress.push(bar.value); }, 5); }""")
    ada.click("#media-play")
    ada.wait_for_selector("#play-media", state="detached", timeout=WAIT_MS)
    assert ada.evaluate("window.__progress").count(1) >= 1  # the bar filled before it closed

    env = launched(bot_dir)
    assert (env["PARLEY_BOT_KIND"], env["PARLEY_BOT_MEETING"]) == ("streamer", mid)
    assert json.loads(env["PARLEY_BOT_OPTIONS"])["loop"] is True
    sid = env["PARLEY_BOT_STREAM"]
    bot = rest(stack, "POST", f"/meetings/{mid}/join",
               {"name": "Lesson 1", "botToken": env["PARLEY_BOT_TOKEN"]})
    stream = rest(stack, "GET", f"/meetings/{mid}/streams/{sid}", token=bot["token"])["stream"]
    assert stream["title"] == "Lesson 1" and stream["sourceKind"] == "upload"
    status, _, stored = fetch(stream["sourceUrl"])
    assert status == 200 and stored == CLIP  # what the page uploaded, whole

    tile = f'.tile[data-pid="{bot["participant"]["id"]}"]'
    for page in (ada, bob):  # a tile of its own, named by its title, tagged as media
        page.wait_for_selector(f"{tile}.media .media-tag", timeout=WAIT_MS)
        assert page.text_content(f"{tile} .name") == "Lesson 1"
    ada.wait_for_selector(f"{tile} .media-pause", timeout=WAIT_MS)
    assert bob.eval_on_selector_all(f"{tile} .media-bar button", "els => els.length") == 0

    ada.click(f"{tile} .media-pause")
    deadline = time.monotonic() + 30
    while rest(stack, "GET", f"/meetings/{mid}/streams/{sid}", token=bot["token"])[
            "stream"].get("requested", {}).get("action") != "pause":
        assert time.monotonic() < deadline, "the pause never reached the stream"
        time.sleep(0.2)
    ada.wait_for_selector(f'{tile} .media-pause >> text="Resume"', timeout=WAIT_MS)

    rest(stack, "PATCH", f"/meetings/{mid}/streams/{sid}",
         {"state": "failed", "error": "The file could not be decoded."}, token=bot["token"])
    ada.wait_for_selector('.toast.error >> text=/could not be decoded/', timeout=WAIT_MS)
    ada.wait_for_selector(f"{tile} .media-bar button", state="detached", timeout=WAIT_MS)
    assert not bob.is_visible('.toast.error >> text=/could not be decoded/')
    for page in (ada, bob):
        assert page.errors == [], page.errors
