"""How far behind its schedule a process's event loop runs, and the refusal of new sockets
while it is too far behind.

Everything an instance does for its tabs runs on one event loop. When more arrives than
it can do (a restart of the server: every tab reconnects at once, and each reconnect
brings a page load), work waits in the loop's queues and the loop falls behind. Past a
few seconds socket.io's liveness check fails (a ping every 5 s, answered within 5 s): the
tab takes its socket for lost and opens another, while the server has not yet handled
the first one's close and still holds its socket and its page load. At 10,000 tabs on
two instances that fed itself until an instance held eight sockets per tab and the
kernel killed it (docs/instances.md; the benchmark's simulated tabs then retried faster
than browsers do, which made it worse). With the refusal the same run's instances peaked
at about a third of that memory.

So a new socket is refused while the loop is more than `max_lag` seconds behind. A refusal
costs one packet; the frontend tries again after 200 ms more per failed attempt, at most
2 s (Reflex's state.js, `retryConnect`), and keeps its transport open meanwhile. The work
already admitted is done first; memory stays bounded by what the loop can keep up with.

The measure is a timer: every `every` seconds the monitor asks to be woken, and how late
the wake-up comes is the lag; a late wake-up counts for `hold` seconds (a loop that was
seconds behind a moment ago is not caught up because one wake-up came on time). While a
wake-up is overdue, the lag is at least how overdue it is (a refusal asked in the middle
of a long queue sees it without waiting for the wake-up). The pure part
(`LoopLag.behind`) takes `now` as a parameter.
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)

REFUSAL = "chatapp is busy; retrying"


class LoopLag:
    """The lag of the event loop it runs on (`run`), and a refusal while it is over `max_lag`.

    Args:
        max_lag: Seconds behind beyond which `refusal` refuses (0: never).
        every: Seconds between the monitor's wake-ups.
        hold: Seconds a late wake-up counts.
    """

    def __init__(self, max_lag: float, *, every: float = 0.1, hold: float = 1.0) -> None:
        self.max_lag = max_lag
        self.every = every
        self.hold = hold
        self._due: float | None = None  # when the pending wake-up should come (loop time)
        self._late = (0.0, 0.0)  # (how late, when): the latest wake-up at least as late as any within `hold`
        self.peak = 0.0  # the most it has been behind (seen by a wake-up or a refusal)
        self.refused = 0  # sockets refused in all
        self._episode: tuple[float, int] | None = None  # (start, refused before) while refusing

    def behind(self, now: float) -> float:
        """Seconds the loop is behind at loop time `now`: how late the latest wake-up
        came of those within `hold` seconds, or how overdue the pending one is, whichever
        is more."""
        overdue = now - self._due if self._due is not None else 0.0
        late, at = self._late
        return max(late if now - at <= self.hold else 0.0, overdue, 0.0)

    def waiting(self, due: float) -> None:
        """The monitor asked to be woken at loop time `due`."""
        self._due = due

    def woke(self, now: float) -> None:
        """The pending wake-up came at loop time `now`."""
        if self._due is None:
            return
        late = max(now - self._due, 0.0)
        self._due = None
        if late >= self.behind(now):
            self._late = (late, now)
        self.peak = max(self.peak, late)

    def refusal(self) -> str | None:
        """Why a new socket is refused now (None: it is welcome)."""
        if self.max_lag <= 0:
            return None
        now = asyncio.get_running_loop().time()
        lag = self.behind(now)
        self.peak = max(self.peak, lag)
        if lag <= self.max_lag:
            return None
        if self._episode is None:
            self._episode = (now, self.refused)
            logger.warning("event loop %.1f s behind: refusing new sockets until it catches up", lag)
        self.refused += 1
        return REFUSAL

    async def run(self) -> None:
        """Measure the lag until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self.waiting(loop.time() + self.every)
            await asyncio.sleep(self.every)
            now = loop.time()
            self.woke(now)
            self._close_episode(now)

    def _close_episode(self, now: float) -> None:
        if self._episode is None or self.behind(now) > self.max_lag:
            return
        start, before = self._episode
        self._episode = None
        logger.warning(
            "event loop caught up: refused %d new sockets in %.1f s (at most %.1f s behind so far)",
            self.refused - before,
            now - start,
            self.peak,
        )
