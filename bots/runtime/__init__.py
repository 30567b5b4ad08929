"""The runtime every Parley bot is built on: a participant of role `bot` that speaks the
page's REST + WebSocket protocol and holds an aiortc peer connection with every person.
See docs/BOTS.md.

`Bot` is imported on first use: the REST client and the settings come without aiortc,
so a bot can join while its media modules are still being imported."""

from .api import Api, ApiError
from .config import BotConfig, ConfigError

__all__ = ["Api", "ApiError", "Bot", "BotConfig", "ConfigError"]


def __getattr__(name: str):
    if name == "Bot":
        from .bot import Bot
        return Bot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
