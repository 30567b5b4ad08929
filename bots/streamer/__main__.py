"""`python -m bots.streamer`: the streamer bot.

It joins the meeting with its invite (bots.runtime does the protocol) and sends the
source's pictures and sound to everyone as its camera and microphone; it receives
nothing. The stream's life (start, requests, progress, last report) is `Streaming`'s;
this wires it to the runtime's hooks: the stream's task starts once the bot has joined,
`stream-updated` events are handed to it, and the last report is made on stop, while
the bot is still in the meeting. The bot leaves when the stream is over (the end of
the file, a stop, a failure) or for the runtime's reasons (the meeting ended, only bots
for a while, removed, SIGTERM).

Input is the environment: the runtime's settings, PARLEY_BOT_STREAM and
PARLEY_BOT_OPTIONS. Exit code: 0 when the stream ended or was stopped, 1 when it failed
(or the bot could not join), 2 when the settings are wrong.
"""

import asyncio
import logging
import os
import sys

from bots.runtime import Bot, BotConfig, ConfigError
from bots.streamer.options import StreamOptions, stream_id
from bots.streamer.player import Player
from bots.streamer.stream_api import StreamApi
from bots.streamer.streaming import Streaming

log = logging.getLogger("parley.streamer")


class StreamerBot(Bot):
    receive_audio = receive_video = False

    def __init__(self, config: BotConfig, stream: str, options: StreamOptions, *, api=None,
                 player: Player | None = None):
        """api: the stream's routes (default StreamApi over the bot's own REST client)."""
        super().__init__(config)
        self.display_name = options.title
        self.player = player or Player(live=options.live, loop=options.loop)
        self.outgoing_tracks = [self.player.audio, self.player.video]
        self.streaming = Streaming(api or StreamApi(self.api, config.meeting, stream), stream,
                                   options, self.player)

    async def on_joined(self, join: dict) -> None:
        self.streaming.start(on_over=lambda: self.stop("stopped"))

    async def on_event(self, event: dict) -> None:
        if event.get("event") == "stream-updated":
            self.streaming.request(event.get("stream"))

    async def on_stop(self, reason: str) -> None:
        self.exit_code = await self.streaming.finish(reason)


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = BotConfig.from_env()
        sid = stream_id(os.environ)
        if not sid:
            raise ConfigError("PARLEY_BOT_STREAM is not set")
        options = StreamOptions.parse(config.options)
    except ValueError as err:  # ConfigError is one
        log.error("%s", err)
        return 2
    return asyncio.run(StreamerBot(config, sid, options).run())


if __name__ == "__main__":
    sys.exit(main())
