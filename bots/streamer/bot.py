"""The streamer bot: it joins the meeting with its invite (bots.runtime does the
protocol) and sends the source's pictures and sound to everyone as its camera and
microphone; it receives nothing. The stream's life (start, requests, progress, last
report) is `Streaming`'s; this wires it to the runtime's hooks: the stream's task starts
once the bot has joined, `stream-updated` events are handed to it, and the last report
is made on stop, while the bot is still in the meeting. The bot leaves when the stream
is over (the end of the file, a stop, a failure) or for the runtime's reasons (the
meeting ended, only bots for a while, removed, SIGTERM)."""

from bots.runtime import Bot, BotConfig

from .early import Early
from .options import StreamOptions
from .player import Player
from .source import open_container
from .stream_api import StreamApi
from .streaming import Streaming


class StreamerBot(Bot):
    receive_audio = receive_video = False

    def __init__(self, config: BotConfig, stream: str, options: StreamOptions, *, api=None,
                 player: Player | None = None, early: Early | None = None):
        """api: the stream's routes (default StreamApi over the bot's own REST client).
        early: what was done before the bot was made (early.py): its REST client (joined,
        the stream read) and the source it began to open are used."""
        super().__init__(config)
        self.display_name = options.title
        self.early = early
        if early is not None:
            self.api = early.api
        opener = early.opener(open_container) if early is not None else open_container
        self.player = player or Player(live=options.live, loop=options.loop, opener=opener)
        self.outgoing_tracks = [self.player.audio, self.player.video]
        self.streaming = Streaming(api or StreamApi(self.api, config.meeting, stream), stream,
                                   options, self.player,
                                   first=early.stream if early is not None else None)

    async def on_joined(self, join: dict) -> None:
        self.streaming.start(on_over=lambda: self.stop("stopped"))

    async def on_event(self, event: dict) -> None:
        if event.get("event") == "stream-updated":
            self.streaming.request(event.get("stream"))

    async def on_stop(self, reason: str) -> None:
        self.exit_code = await self.streaming.finish(reason)
        if self.early is not None:
            self.early.discard()
