"""Recording from the page, in real Chromium with fake camera and microphone, on a stack
whose launcher starts the real recorder (`python -m bots.recorder`): the host starts a
recording of each mode from the meeting menu, everyone sees the banner and no tile or row
for the recorder, the host stops it, and the finished file, downloaded through the page's
link, is what the mode promises (audio: one MP3 stream, which FFmpeg decodes as
`mp3float`; video: H.264 alone; av: H.264 and AAC), of about the recorded length, with
changing pictures and sound where it has them."""

import io
import time

import av
import numpy
import pytest

from harness.http import fetch
from harness.stack import running_stack

from .conftest import (
    WAIT_MS,
    api_call,
    join,
    join_as_host,
    open_person,
    tools_ready,
    wait_remote_videos_playing,
    wait_until,
)


@pytest.fixture(scope="module")
def recording_stack(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recording-browser")
    with running_stack(folder / "devserver.log", PARLEY_BOT_WORKDIR=str(folder / "work"),
                       PARLEY_BOT_LOG_DIR=str(folder / "logs")) as stack:
        yield stack


@pytest.fixture
def two_pages(browser, recording_stack):
    contexts = []
    yield [open_person(browser, recording_stack.url, contexts) for _ in range(2)]
    for context in contexts:
        context.close()


EXPECTED = {"audio": ((), ("mp3float",)), "video": (("h264",), ()), "av": (("h264",), ("aac",))}


@pytest.mark.parametrize("mode", ["av", "audio", "video"])
def test_a_host_records_the_meeting_and_downloads_the_file(recording_stack, two_pages, mode):
    stack = recording_stack
    ada, bob = two_pages
    created = api_call(stack, "POST", "/meetings", {"name": f"Recorded {mode}"})
    mid = created["meeting"]["id"]
    join_as_host(ada, mid, created["hostKey"], "Ada")
    join(bob, mid, "Bob")
    for page in (ada, bob):
        tools_ready(page)
        wait_remote_videos_playing(page, 1)
    assert bob.is_hidden("#recording-banner")

    ada.click("#host-controls")
    ada.click('#meeting-menu >> text="Start recording"')
    ada.check(f'#start-recording input[value="{mode}"]')
    ada.click("#rec-start")
    for page in (ada, bob):  # everyone is told, and the recorder is no tile and no row
        page.wait_for_selector("#recording-banner >> text=Recording", timeout=WAIT_MS)
    # the recorder is connected to both pages (a peer each), yet shows in the banner only:
    # still one remote tile, two people
    for page in (ada, bob):
        wait_until(page, "async () => Object.keys(await window.__parley.stats()).length === 2")
    for page in (ada, bob):
        assert page.eval_on_selector_all(".tile:not(.self)", "els => els.length") == 1
        assert page.text_content("#toggle-people .count") == "2"
    started = time.monotonic()
    time.sleep(6)

    ada.click("#host-controls")
    ada.click('#meeting-menu >> text="Stop recording"')
    ada.click("dialog.confirm [data-confirm]")
    recorded = time.monotonic() - started
    bob.wait_for_selector("#recording-banner", state="hidden", timeout=60_000)

    ada.click("#host-controls")
    ada.click('#meeting-menu >> text="Recordings"')
    link = ada.wait_for_selector("#recordings-list a.rec-file", timeout=60_000)
    assert ada.text_content("#recordings-list .rec-state") == "done"
    status, _, body = fetch(link.get_attribute("href"))
    assert status == 200

    with av.open(io.BytesIO(body)) as container:
        videos, audios = EXPECTED[mode]
        assert tuple(v.codec_context.name for v in container.streams.video) == videos
        assert tuple(a.codec_context.name for a in container.streams.audio) == audios
        duration = container.duration / 1e6
        assert abs(duration - recorded) <= 0.1 * recorded + 1.5, (duration, recorded)
        pictures, samples = [], []
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                pictures.append(frame.to_ndarray(format="gray").astype(numpy.int16))
            else:
                samples.append(frame.to_ndarray().astype(numpy.float64))
    if videos:  # the fake cameras move
        changed = sum(1 for a, b in zip(pictures, pictures[1:], strict=False)
                      if numpy.abs(a - b).mean() > 0.5)
        assert changed >= len(pictures) // 4, (changed, len(pictures))
    if audios:  # the fake microphones' beeps, not silence
        rms = numpy.sqrt(numpy.mean(numpy.concatenate([s.ravel() for s in samples]) ** 2))
        assert rms > 0.001, rms
    assert ada.errors == [] and bob.errors == []
