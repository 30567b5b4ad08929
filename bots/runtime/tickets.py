"""Ticket order: each participant's tickets are numbered 1, 2, 3, ... by the server, arrive
at least once and maybe twice (the fast path and the table's stream) or out of order (a
replay racing a push). This hands them on exactly once, in order, like
frontend/js/signaling.js; a gap means a missed ticket, to be fetched by replay."""

import time

PAGE = 200  # the server's replay page size
GAP_PATIENCE = 5.0  # ids are taken before the write, so a gap may fill itself; then skip it


def pad(n: int) -> str:
    return f"{n:012d}"


class TicketSequence:
    def __init__(self, clock=time.monotonic, patience: float = GAP_PATIENCE):
        self.last = 0  # the highest id handed on; everything up to it was handed on
        self.pending: dict[int, dict] = {}  # received after a gap
        self.gap_since: float | None = None
        self.clock, self.patience = clock, patience

    @property
    def cursor(self) -> str | None:
        """What to replay after (`GET .../tickets?after=`); None: from the start."""
        return pad(self.last) if self.last else None

    @property
    def waiting(self) -> bool:
        """A gap holds tickets back."""
        return bool(self.pending)

    def add(self, ticket: dict) -> list[dict]:
        """The tickets that may be handled now, in order: none for a duplicate or while a gap
        before it is open; several when it fills a gap."""
        n = int(ticket["id"])
        if n > self.last:
            self.pending.setdefault(n, ticket)
        return self._drain()

    def skip_stale_gap(self) -> list[dict]:
        """Give up on a gap that has been open for `patience` seconds (its ticket was never
        written): hand on what waits behind it. The first call only starts the clock."""
        if not self.pending:
            return []
        now = self.clock()
        if self.gap_since is None:
            self.gap_since = now
            return []
        if now - self.gap_since < self.patience:
            return []
        self.last = min(self.pending) - 1
        out = self._drain()
        if self.pending:  # another gap behind it gets its own patience
            self.gap_since = now
        return out

    def _drain(self) -> list[dict]:
        out = []
        while self.last + 1 in self.pending:
            self.last += 1
            out.append(self.pending.pop(self.last))
        if not self.pending:
            self.gap_since = None
        return out
