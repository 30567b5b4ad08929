"""The streamer's start, overlapped: most of a fresh bot's start-up is Python importing
aiortc, PyAV and numpy, then its REST join, and only then did it read its stream and
open the source. Here the heavy modules are imported on a thread of their own while the
event loop joins and reads the stream (both wait on the network), and a file's source
begins to open (FFmpeg, on another thread) as soon as its URL is known; the bot made
after that takes the joined REST client, the stream as read and the opened container.

A live source is not opened early: what it sends while the bot is still starting would
be played late, for the whole stream. Nothing here decides an outcome: a source that
cannot be opened hands its error to the bot's first reading, which reports `failed`
as before, and a stream that could not be read is read again by the bot.
"""

import concurrent.futures
import importlib
import logging
import threading
from dataclasses import dataclass

from bots.runtime import Api, ApiError, BotConfig

from .options import StreamOptions
from .stream_api import StreamApi

log = logging.getLogger("parley.streamer")
# What the bot needs besides the REST client, slowest first.
MEDIA_MODULES = ("aiortc", "av", "numpy", "bots.runtime.bot", "bots.streamer.bot")
OVER = ("ended", "failed", "stopping")


def import_media() -> threading.Thread:
    """Import MEDIA_MODULES on a daemon thread; join() it before making the bot."""
    def run():
        for name in MEDIA_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the main thread's own import says what is wrong
                log.exception("importing %s failed", name)
                return
    thread = threading.Thread(target=run, name="streamer-imports", daemon=True)
    thread.start()
    return thread


def begin_opening(url: str) -> concurrent.futures.Future:
    """Open a file's source on a daemon thread: the future's result is the container, or
    the opener's error (a SourceError with the reason for the host)."""
    future = concurrent.futures.Future()

    def run():
        try:
            from .source import open_container  # PyAV: imported here if not yet
            future.set_result(open_container(url, live=False))
        except BaseException as err:
            future.set_exception(err)
    threading.Thread(target=run, name="streamer-open", daemon=True).start()
    return future


@dataclass
class Early:
    """The REST client (joined), the join's answer, the stream as read (None when it
    could not be), and the source's opening (None when not begun)."""

    api: Api
    joined: dict
    stream: dict | None = None
    url: str | None = None
    opening: concurrent.futures.Future | None = None

    def opener(self, fallback):
        """An opener for the Player: the first reading of `url` gets the container opened
        early (or its error); every other one opens anew with `fallback`."""
        def open_source(url: str, live: bool, timeouts):
            opening, self.opening = self.opening, None
            if opening is not None and url == self.url and not live:
                return opening.result()
            if opening is not None:
                _close(opening)
            return fallback(url, live, timeouts)
        return open_source

    def discard(self) -> None:
        """Close a container opened early that no reading took."""
        opening, self.opening = self.opening, None
        if opening is not None:
            _close(opening)


def _close(opening: concurrent.futures.Future) -> None:
    def close(done: concurrent.futures.Future) -> None:
        if done.exception() is None:
            try:
                done.result().close()
            except Exception:  # noqa: S110 (closing an unused source: nothing to tell)
                pass
    opening.add_done_callback(close)


async def start(config: BotConfig, stream_id: str, options: StreamOptions) -> Early:
    """Join as the bot and read the stream; begin opening a file's source. ApiError when
    the join fails."""
    api = Api(config.api_url)
    try:
        joined = await api.join(config.meeting, config.name or options.title, config.token)
    except ApiError:
        await api.close()
        raise
    early = Early(api, joined)
    if joined.get("waiting") or not joined.get("token"):
        return early  # the bot says why it cannot stay
    api.token = joined["token"]
    try:
        early.stream = await StreamApi(api, config.meeting, stream_id).get()
    except ApiError as err:
        log.info("reading the stream early failed (%s): the bot reads it again", err)
        return early
    url = early.stream.get("sourceUrl")
    if url and not options.live and early.stream.get("state") not in OVER:
        early.url, early.opening = url, begin_opening(url)
    return early
