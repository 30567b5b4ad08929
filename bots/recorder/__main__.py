"""`python -m bots.recorder`: the recorder bot.

It joins the meeting with its invite (bots.runtime does the protocol), gives everyone who
is not a bot to the mixer in the order they entered, and on stop (the host's DELETE, the
meeting ending, being removed, only bots left for a while, SIGTERM) finishes, stores and
reports the recording before it leaves: the server only takes reports from a participant
that is still in the meeting. Input is the environment: the runtime's settings (mid,
rid, invite, options, API URL), PARLEY_RECORDINGS_BUCKET, PARLEY_S3_ENDPOINT and
AWS_REGION for the store, and PARLEY_BOT_WORKDIR for the file while it is made (default:
a temporary directory). The exit code is 0 when the recording ended `done`.
"""

import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path

from bots.recorder import recording
from bots.recorder.recording import Recording
from bots.recorder.storage import Store, s3_client
from bots.runtime import Bot, BotConfig

log = logging.getLogger("parley.recorder")
FINISHED = ("stopping", "uploading", "done", "failed")  # the server's states after recording


def is_bot(participant: dict) -> bool:
    return participant.get("role") == "bot"


class RecorderBot(Bot):
    display_name = "Recorder"

    def __init__(self, config: BotConfig, store: Store, workdir: Path):
        super().__init__(config)
        mode, reserve, callback_url = recording.options(config.options)
        self.receive_audio, self.receive_video = mode != "video", mode != "audio"
        self.exit_code = 1  # until the recording is done
        self.recording = Recording(config.meeting, config.recording, mode, reserve, callback_url,
                                   workdir / config.recording, store, self._report)

    async def _report(self, body: dict) -> None:
        path = f"{self.api.meeting_path(self.config.meeting)}/recordings/{self.config.recording}"
        await self.api.call("PATCH", path, body)

    async def on_joined(self, join: dict) -> None:
        await self.recording.start()
        for pid, participant in self.participants.items():  # in joined order
            if not is_bot(participant):
                self.recording.enter(pid)

    async def on_track(self, pid: str, track) -> None:
        self.recording.attach(pid, track)

    async def on_peer_left(self, pid: str, reason: str) -> None:
        self.recording.leave(pid)

    async def on_event(self, event: dict) -> None:
        name = event.get("event")
        participant = event.get("participant") or {}
        if name == "participant-joined" and participant.get("id") and not is_bot(participant):
            self.recording.enter(participant["id"])
        elif name == "recording-updated":
            mine = event.get("recording") or {}
            if mine.get("id") == self.config.recording and mine.get("state") in FINISHED:
                self.stop("stopped")

    async def on_stop(self, reason: str) -> None:
        self.exit_code = await self.recording.finish(reason)


async def record(config: BotConfig, store: Store, workdir: Path) -> int:
    bot = RecorderBot(config, store, workdir)
    try:
        await bot.run()
    finally:  # a join that failed never reaches on_stop: the server is still told `failed`
        bot.exit_code = await bot.recording.finish(bot.stop_reason or "not joined")
        await bot.api.close()
    return bot.exit_code


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = BotConfig.from_env()
    if not config.recording:
        log.error("PARLEY_BOT_RECORDING is not set")
        return 2
    store = Store(s3_client(os.environ.get("PARLEY_S3_ENDPOINT"), os.environ.get("AWS_REGION")),
                  os.environ["PARLEY_RECORDINGS_BUCKET"])
    workdir = Path(os.environ.get("PARLEY_BOT_WORKDIR") or tempfile.mkdtemp(prefix="parley-recorder-"))
    return asyncio.run(record(config, store, workdir))


if __name__ == "__main__":
    sys.exit(main())
