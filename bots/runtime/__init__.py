"""The runtime every Parley bot is built on: a participant of role `bot` that speaks the
page's REST + WebSocket protocol and holds an aiortc peer connection with every person.
See docs/BOTS.md."""

from .api import Api, ApiError
from .bot import Bot
from .config import BotConfig, ConfigError

__all__ = ["Api", "ApiError", "Bot", "BotConfig", "ConfigError"]
