"""The stream's own routes, the only place the streamer speaks of streams to the server
(docs/API.md, "Streams"): read the stream (its source URL and saved position), and
report state and progress on it."""

from urllib.parse import quote

from bots.runtime import Api


class StreamApi:
    def __init__(self, api: Api, meeting: str, stream: str):
        self.api = api
        self.path = f"{Api.meeting_path(meeting)}/streams/{quote(stream, safe='')}"

    async def get(self) -> dict:
        """The stream as its own bot sees it (with `sourceUrl`); sent again after a network
        error, 429 or 5xx."""
        return (await self.api.retrying("GET", self.path))["stream"]

    async def report(self, body: dict, *, retry: bool = False) -> dict:
        """PATCH `{state?, position?, duration?, error?}`; the stream as it now is. With
        `retry`, sent again after a network error, 429 or 5xx (a state report is safe to
        repeat: the same state again is accepted)."""
        send = self.api.retrying if retry else self.api.call
        return (await send("PATCH", self.path, body)).get("stream") or {}
