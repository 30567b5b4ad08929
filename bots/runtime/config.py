"""What a bot is told at start. A bot is launched (a subprocess of the local stack, an ECS
task in AWS) with its whole input in environment variables, so the same image runs
anywhere; this is the one place that reads them."""

import json
import os
from dataclasses import dataclass, field

DEFAULT_IDLE_SECONDS = 300.0


class ConfigError(ValueError):
    """A required setting is missing or malformed; the bot cannot start."""


@dataclass(frozen=True)
class BotConfig:
    api_url: str  # REST base, e.g. http://127.0.0.1:8000/api
    meeting: str  # meeting id
    token: str | None = None  # bot invite (production); None joins as an ordinary guest
    recording: str | None = None  # the recording this bot serves, if any
    options: dict = field(default_factory=dict)
    idle_seconds: float = DEFAULT_IDLE_SECONDS  # only bots present this long: stop("idle")
    name: str | None = None  # display name; None: the Bot class's display_name

    @classmethod
    def from_env(cls, env=None) -> "BotConfig":
        env = os.environ if env is None else env
        missing = [k for k in ("PARLEY_API_URL", "PARLEY_BOT_MEETING") if not env.get(k)]
        if missing:
            raise ConfigError(f"missing setting(s): {', '.join(missing)}")
        try:
            options = json.loads(env.get("PARLEY_BOT_OPTIONS") or "{}")
        except ValueError as err:
            raise ConfigError(f"PARLEY_BOT_OPTIONS is not JSON: {err}") from None
        if not isinstance(options, dict):
            raise ConfigError("PARLEY_BOT_OPTIONS must be a JSON object")
        raw_idle = env.get("PARLEY_BOT_IDLE_SECONDS") or str(DEFAULT_IDLE_SECONDS)
        try:
            idle = float(raw_idle)
        except ValueError:
            raise ConfigError(f"PARLEY_BOT_IDLE_SECONDS={raw_idle!r} is not a number") from None
        if idle <= 0:
            raise ConfigError("PARLEY_BOT_IDLE_SECONDS must be positive")
        return cls(api_url=env["PARLEY_API_URL"].rstrip("/"), meeting=env["PARLEY_BOT_MEETING"],
                   token=env.get("PARLEY_BOT_TOKEN") or None,
                   recording=env.get("PARLEY_BOT_RECORDING") or None, options=options,
                   idle_seconds=idle, name=env.get("PARLEY_BOT_NAME") or None)
