"""The streamer's early start (bots/streamer/early.py) as its Player uses it: the first
reading of the stream's URL gets the container opened early, every later reading (a
seek, a loop, a retry) opens anew, and a source that could not be opened early fails
the first reading with the same reason as if it had been opened then."""

import pytest

from bots.runtime import Api
from bots.streamer.early import Early, begin_opening
from bots.streamer.player import PlaybackError
from bots.streamer.source import SourceError, Timeouts, open_container

from . import streamer_media
from .test_streamer_player import play

clip_dir, media_url = streamer_media.clip_dir, streamer_media.media_url  # fixtures


def _early(url: str) -> Early:
    return Early(Api("http://127.0.0.1:9"), {}, url=url, opening=begin_opening(url))


def test_the_first_reading_takes_the_source_opened_early_and_later_ones_open_anew(media_url):
    url = media_url + "/clip.mp4"
    early = _early(url)
    opened = []

    def fallback(*args):
        opened.append(args)
        return open_container(*args)

    opener = early.opener(fallback)
    first = opener(url, False, Timeouts())
    again = opener(url, False, Timeouts())
    try:
        assert first is not again and first.streams.video and opened == [(url, False, Timeouts())]
    finally:
        first.close()
        again.close()


def test_a_source_that_could_not_be_opened_early_fails_the_player_with_its_reason(media_url):
    url = media_url + "/corrupt.mp4"
    early = _early(url)
    with pytest.raises(SourceError, match="not a media file"):
        early.opener(open_container)(url, False, Timeouts())

    async def scenario(make):
        with pytest.raises(PlaybackError) as failed:
            await make(opener=_early(url).opener(open_container)).start(url)
        return str(failed.value)
    assert "not a media file" in play(scenario)
