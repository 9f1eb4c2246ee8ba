"""Mass drops: many sockets of one instance closing at once stretch the grace.

A restart of the server or of its proxy, or a network cut in front of it, closes every
socket at the same moment; nearly all of them come back at once. The server then works
through thousands of reconnects, and a user whose tab is reached after the grace (1.5 s)
went offline and came back for every contact: a change each way, fanned out to every
contact's tabs, which made the storm slower still (at 2,000 tabs, 2,000 such changes
took most of the storm's CPU: docs/benchmarks.md). Within a burst of closes, each
close's grace is the longer `stretched` one instead: users whose tabs come back show no
change at all, and a user who really left shows offline after it.

A burst is counted against the instance's size: at least `burst` closes, and at least
`share` of the sockets the instance held. A fixed count alone took a busy instance's
ordinary closes for a mass drop: at 2,000 tabs the benchmark closes about 10 sockets a
second, and an event loop a second behind handled 50 of them within 2 s; their users
then showed offline 30 s late instead of 1.5 s (four changes lost, docs/benchmarks.md).

Pure: the current time is a parameter.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta


class MassDrops:
    """Counts the sockets closing on this instance and says each close's grace.

    Args:
        window: The span in which closes make a mass drop.
        burst: The fewest closes within `window` that make one.
        stretched: The grace of a close during a mass drop.
        share: The fewest closes that make one as a share of the sockets the instance
            held (those still open and those closed within `window`).
        still_open: How many sockets the instance holds now.
    """

    def __init__(
        self,
        *,
        window: timedelta,
        burst: int,
        stretched: timedelta,
        share: float = 0.0,
        still_open: Callable[[], int] = lambda: 0,
    ) -> None:
        self.window = window
        self.burst = burst
        self.stretched = stretched
        self.share = share
        self.still_open = still_open
        self._closes: deque[datetime] = deque()

    def grace_for_close(self, now: datetime, grace: timedelta) -> timedelta:
        """Count a socket closing at `now`; the grace it gets (`grace` unless this close
        is part of a mass drop, then the longer of it and `stretched`)."""
        closes = self._closes
        closes.append(now)
        while closes and closes[0] <= now - self.window:
            closes.popleft()
        held = self.still_open() + len(closes)
        if len(closes) >= max(self.burst, math.ceil(self.share * held)):
            return max(grace, self.stretched)
        return grace
