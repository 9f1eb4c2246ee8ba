"""Mass drops: many sockets of one instance closing at once stretch the grace.

A restart of the server or of its proxy, or a network cut in front of it, closes every
socket at the same moment; nearly all of them come back at once. The server then works
through thousands of reconnects, and a user whose tab is reached after the grace (1.5 s)
went offline and came back for every contact: a change each way, fanned out to every
contact's tabs, which made the storm slower still (at 2,000 tabs, 2,000 such changes
took most of the storm's CPU: docs/benchmarks.md). Within a burst of closes, each
close's grace is the longer `stretched` one instead: users whose tabs come back show no
change at all, and a user who really left shows offline after it.

Pure: the current time is a parameter.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta


class MassDrops:
    """Counts the sockets closing on this instance and says each close's grace.

    Args:
        window: The span in which `burst` closes make a mass drop.
        burst: How many closes within `window` make one.
        stretched: The grace of a close during a mass drop.
    """

    def __init__(self, *, window: timedelta, burst: int, stretched: timedelta) -> None:
        self.window = window
        self.burst = burst
        self.stretched = stretched
        self._closes: deque[datetime] = deque()

    def grace_for_close(self, now: datetime, grace: timedelta) -> timedelta:
        """Count a socket closing at `now`; the grace it gets (`grace` unless this close
        is part of a mass drop, then the longer of it and `stretched`)."""
        closes = self._closes
        closes.append(now)
        while closes and closes[0] <= now - self.window:
            closes.popleft()
        if len(closes) >= self.burst:
            return max(grace, self.stretched)
        return grace
