"""The idle rule: a meeting that has held nobody but bots for a while needs no bot (a
recorder would record an empty room until the meeting is purged)."""

import asyncio


class IdleTimer:
    def __init__(self, seconds: float, on_idle):
        self.seconds, self.on_idle = seconds, on_idle
        self._handle: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def update(self, people_present: bool) -> None:
        """Call on every change of who is here. The clock starts when the last person leaves
        (or at once, in an empty meeting) and is not restarted by further changes among bots;
        a person arriving stops it."""
        if people_present:
            self.cancel()
        elif self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.seconds, self._fire)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        self.on_idle()
