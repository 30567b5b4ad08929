"""One recording from its first tick to the callback, apart from how the bot talks to
the meeting (so it runs, and is tested, without a meeting):

start: the mixer's clock starts and the server hears `recording`;
finish (once, whatever asked for it): the file is finished, the server hears `uploading`,
the file is stored, the server hears `done` or `failed` with the files (straight `failed`
when there is no file), then the callbackUrl, if any, hears the same files. The exit
code is 0 only for `done`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bots.recorder import callback
from bots.recorder.mixer import Mixer
from bots.recorder.storage import RECORDING_FAILED, STORED, FileReport, Store, key_for, short
from bots.recorder.writer import MODES

log = logging.getLogger(__name__)


def options(raw: dict) -> tuple[str, bool, str | None]:
    """mode, reserve and callbackUrl from PARLEY_BOT_OPTIONS, with the API's defaults."""
    mode, reserve, url = raw.get("mode") or "audio", raw.get("reserve", True), raw.get("callbackUrl")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not isinstance(reserve, bool):
        raise ValueError("reserve must be true or false")
    if url is not None and not isinstance(url, str):
        raise ValueError("callbackUrl must be a string")
    return mode, reserve, url or None


class Recording:
    def __init__(self, meeting: str, recording: str, mode: str, reserve: bool,
                 callback_url: str | None, workdir: Path, store: Store,
                 report: Callable[[dict], Awaitable[None]],
                 notify: Callable[[str, dict], bool] = callback.notify):
        self.meeting, self.id, self.mode = meeting, recording, mode
        self.callback_url = callback_url
        self.store, self.report, self.notify = store, report, notify
        workdir.mkdir(parents=True, exist_ok=True)
        self.mixer = Mixer(mode, workdir, reserve=reserve)
        self._finished: asyncio.Future | None = None

    async def start(self) -> None:
        await self.mixer.start()
        await self._report({"state": "recording"})

    def enter(self, pid: str) -> None:
        self.mixer.enter(pid)

    def attach(self, pid: str, track) -> None:
        self.mixer.attach(pid, track)

    def leave(self, pid: str) -> None:
        self.mixer.leave(pid)

    async def finish(self, reason: str) -> int:
        """Finish, store, report and call back; the exit code. A second call waits for
        the first."""
        if self._finished is None:
            self._finished = asyncio.ensure_future(self._finish(reason))
        return await asyncio.shield(self._finished)

    async def _finish(self, reason: str) -> int:
        result = await self.mixer.stop()
        log.info("recording stopped (%s) after %.1f s: %d ticks, %d dropped, %d without a "
                 "picture, at most %.2f s behind", reason, result.seconds, result.ticks,
                 result.dropped, result.skipped_pictures, result.max_lag)
        name = self.mixer.writer.path.name
        key = key_for(self.meeting, self.id, name)
        if result.path is None:
            files = [FileReport(name, key, RECORDING_FAILED,
                                short(result.error or f"nothing was recorded ({reason})"), 0)]
        else:
            await self._report({"state": "uploading"})
            stored = await asyncio.to_thread(self.store.put, result.path, key)
            if result.error and stored.status == STORED:
                stored.status = RECORDING_FAILED
                stored.message = (f"recording broke off ({short(result.error)}); what came "
                                  "before is stored")
            files = [stored]
        await self.mixer.close()
        done = all(f.status == STORED for f in files)
        outcome = {"state": "done" if done else "failed", "files": [f.json() for f in files]}
        if not done:
            outcome["error"] = "; ".join(f.message for f in files if f.status != STORED)
        await self._report(outcome)
        if self.callback_url:
            payload = callback.body(self.meeting, self.id, outcome["files"])
            await asyncio.to_thread(self.notify, self.callback_url, payload)
        return 0 if done else 1

    async def _report(self, body: dict) -> None:
        """PATCH the recording; a server that cannot be told must not cost the file."""
        try:
            await self.report(body)
        except Exception as err:
            log.warning("could not report %s to the server: %s", body.get("state"), err)
