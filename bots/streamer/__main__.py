"""`python -m bots.streamer`: the streamer bot (bot.py).

Its start is overlapped (early.py): the heavy media modules are imported on a thread
while the bot joins and reads its stream, and a file's source begins to open meanwhile;
the bot is made once the imports are done, and runs from its join on.

Input is the environment: the runtime's settings, PARLEY_BOT_STREAM and
PARLEY_BOT_OPTIONS. Exit code: 0 when the stream ended or was stopped, 1 when it failed
(or the bot could not join), 2 when the settings are wrong.
"""

import asyncio
import logging
import os
import signal
import sys

from bots.runtime import ApiError, BotConfig, ConfigError
from bots.streamer import early
from bots.streamer.options import StreamOptions, stream_id

log = logging.getLogger("parley.streamer")


async def run(config: BotConfig, sid: str, options: StreamOptions) -> int:
    imports = early.import_media()
    loop, signalled = asyncio.get_running_loop(), []
    for sig in (signal.SIGTERM, signal.SIGINT):  # until the bot takes them: leave cleanly
        loop.add_signal_handler(sig, signalled.append, sig)
    try:
        try:
            started = await early.start(config, sid, options)
        except ApiError as err:
            log.error("could not join meeting %s: %s", config.meeting, err)
            return 1
        await asyncio.to_thread(imports.join)
        from bots.streamer.bot import StreamerBot
        bot = StreamerBot(config, sid, options, early=started)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if signalled:
        bot.stop("signal")
    return await bot.run(joined=started.joined)


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
    return asyncio.run(run(config, sid, options))


if __name__ == "__main__":
    sys.exit(main())
