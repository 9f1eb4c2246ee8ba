"""Sockets let in at the pace the event loop keeps up with: what keeps a reconnect storm
larger than one instance reloads at once from becoming a livelock.

At 10,000 tabs a restart's reconnects all arrived within seconds. Each one's hydrate (the
whole tab state, serialized and sent) ran at once; the loop fell seconds behind,
socket.io dropped sockets whose pongs waited past its timeout, Reflex cancelled their page
loads, and the tabs reconnected: 240 s of CPU and not one page loaded (docs/benchmarks.md).
Page loads already take turns (`states/page_loads.py`); the connects before them did not.

Now a socket's connect waits for its turn before Reflex sees it (`Admission.turn`, called
by `reflex_adapter.sockets`). Every `tick` the loop's lag is measured (how late a sleep of
`tick` woke) and `allowance(lag)` waiting sockets are let in, first come first served: a
whole burst while the loop keeps up, fewer as it falls behind, never none. A waiting
socket costs only its transport (engine.io answers its pings meanwhile), and the browser
waits for its connect without a limit. When nothing waits, a connect goes straight in
(within the tick's burst): an ordinary connect is not slowed.
"""

from __future__ import annotations

import asyncio
from collections import deque

TICK = 0.02  # seconds between two measurements of the loop's lag
BURST = 16  # sockets let in per tick while the loop keeps up (800 a second)
MAX_LAG = 0.1  # seconds of lag beyond which fewer are let in
IDLE_TICKS = 50  # ticks with nothing waiting after which the measuring stops


def allowance(lag: float, *, burst: int = BURST, max_lag: float = MAX_LAG) -> int:
    """How many waiting sockets one tick lets in when the loop woke `lag` seconds late:
    all of a burst up to `max_lag`, then in proportion (twice the lag, half as many),
    at least one."""
    if lag <= max_lag:
        return burst
    return max(1, int(burst * max_lag / lag))


class Admission:
    """The turns of the sockets connecting to this process (one event loop)."""

    def __init__(self, *, tick: float = TICK, burst: int = BURST, max_lag: float = MAX_LAG) -> None:
        self.tick, self.burst, self.max_lag = tick, burst, max_lag
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._free = burst  # sockets that may still go straight in before the next tick
        self._ticker: asyncio.Task[None] | None = None
        self.most_waiting = 0  # the longest the queue has been (for the benchmark's record)

    @property
    def waiting(self) -> int:
        """Sockets waiting for their turn now."""
        return sum(1 for future in self._waiting if not future.done())

    async def turn(self) -> None:
        """Wait for this socket's turn (at once when nothing waits and the tick allows)."""
        loop = asyncio.get_running_loop()
        if self._ticker is None or self._ticker.done() or self._ticker.get_loop() is not loop:
            self._free = self.burst
            self._ticker = loop.create_task(self._run(), name="chatapp.admission")
        if not self._waiting and self._free > 0:
            self._free -= 1
            return
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        self.most_waiting = max(self.most_waiting, len(self._waiting))
        await turn  # cancelled (the socket went): its future is skipped when reached

    async def _run(self) -> None:
        """Measure the lag and let sockets in, tick after tick, until nothing has waited
        for `IDLE_TICKS` ticks."""
        loop = asyncio.get_running_loop()
        idle = 0
        while idle < IDLE_TICKS:
            start = loop.time()
            await asyncio.sleep(self.tick)
            lag = max(0.0, loop.time() - start - self.tick)
            allowed = allowance(lag, burst=self.burst, max_lag=self.max_lag)
            idle = 0 if self._waiting else idle + 1
            while allowed and self._waiting:
                turn = self._waiting.popleft()
                if not turn.done():
                    turn.set_result(None)
                    allowed -= 1
            self._free = allowed
