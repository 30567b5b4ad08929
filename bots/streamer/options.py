"""What the launcher tells a streamer beyond the runtime's settings: the stream id
(PARLEY_BOT_STREAM) and PARLEY_BOT_OPTIONS `{"mode", "loop", "resume", "title"}`, with
the API's defaults."""

from collections.abc import Mapping
from dataclasses import dataclass

MODES = ("file", "live")
DEFAULT_TITLE = "Media"
TITLE_MAX = 40  # a participant's name


@dataclass(frozen=True)
class StreamOptions:
    mode: str = "file"  # file: seekable, pausable, resumable; live: from the live edge
    loop: bool = False  # file mode: start again at the end
    resume: bool = True  # file mode: start at the position saved by an earlier bot
    title: str = DEFAULT_TITLE  # the join name, shown on the tile

    @property
    def live(self) -> bool:
        return self.mode == "live"

    @classmethod
    def parse(cls, raw: Mapping) -> "StreamOptions":
        mode = raw.get("mode") or "file"
        loop, resume = raw.get("loop", False), raw.get("resume", True)
        title = raw.get("title")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        for name, value in (("loop", loop), ("resume", resume)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
        if title is not None and not isinstance(title, str):
            raise ValueError("title must be a string")
        title = (title or "").strip()[:TITLE_MAX] or DEFAULT_TITLE
        return cls(mode=mode, loop=loop and mode == "file", resume=resume, title=title)


def stream_id(env: Mapping) -> str | None:
    """The stream this bot plays. PARLEY_BOT_STREAM; PARLEY_BOT_RECORDING is read too, so a
    launcher that passes every bot's job id under the recorder's name still works."""
    return env.get("PARLEY_BOT_STREAM") or env.get("PARLEY_BOT_RECORDING") or None
