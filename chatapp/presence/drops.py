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

A storm may outlast the stretched grace (5,000 tabs took 42 s on a slow day): users whose
tabs were not back yet went offline and came back for every contact, and their tabs,
back after their grace, loaded everything again, which made the storm longer still. So
the offline of a user whose tab closed in a mass drop is put off (`put_off`) while the
drop's tabs are still coming back (one within the last `lull`), up to `longest` after
the close; and a close in the drop's window before the drop was recognized gets the
stretched grace too. Once the tabs stop coming back, those who really left go offline
within a `lull`.

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
        longest: The longest an offline of a mass drop's close is put off while its
            tabs keep coming back (no longer than `stretched` if None).
        lull: Tabs of the drop no longer coming back for this long: the storm is over.
    """

    def __init__(
        self,
        *,
        window: timedelta,
        burst: int,
        stretched: timedelta,
        share: float = 0.0,
        still_open: Callable[[], int] = lambda: 0,
        longest: timedelta | None = None,
        lull: timedelta = timedelta(seconds=5),
    ) -> None:
        self.window = window
        self.burst = burst
        self.stretched = stretched
        self.share = share
        self.still_open = still_open
        self.longest = max(longest or stretched, stretched)
        self.lull = lull
        self._closes: deque[tuple[datetime, str | None]] = deque()
        # The latest mass drop: its first and last close, the tokens of its tabs not
        # back yet, and when the last of its tabs came back.
        self._drop: tuple[datetime, datetime] | None = None
        self._away: set[str] = set()
        self._returned: datetime | None = None
        # The drop's tabs that closed before it was recognized, kept for their ordinary
        # grace, until told (`kept_short`).
        self._short: set[str] = set()

    def grace_for_close(self, now: datetime, grace: timedelta, token: str | None = None) -> timedelta:
        """Count a socket (of tab `token`) closing at `now`; the grace it gets (`grace`
        unless this close is part of a mass drop, then the longer of it and `stretched`)."""
        closes = self._closes
        closes.append((now, token))
        while closes and closes[0][0] <= now - self.window:
            closes.popleft()
        held = self.still_open() + len(closes)
        if len(closes) < max(self.burst, math.ceil(self.share * held)):
            return grace
        if self._drop is None or self._drop[1] < closes[0][0]:  # a new drop
            self._drop = (closes[0][0], now)
            self._away = {t for _, t in closes if t is not None}
            self._returned = None
            self._short = self._away - {token}
        else:
            self._drop = (self._drop[0], now)
            if token is not None:
                self._away.add(token)
        return max(grace, self.stretched)

    def taken_back_for(self, token: str, grace: timedelta) -> timedelta:
        """How long tab `token`, closed with `grace` (`grace_for_close`), is taken back if
        it reconnects: a tab of the latest mass drop as long as its user's offline may be
        put off (`longest`: the put-off is decided only when the grace ends), another for
        its grace."""
        return max(grace, self.longest) if token in self._away else grace

    def kept_short(self) -> set[str]:
        """The tabs of the latest mass drop that closed before it was recognized, once:
        each was taken back for its ordinary grace only (`taken_back_for` said so then),
        and is to be taken back as long as the drop's other tabs. A quarter of an
        instance's tabs close before their burst is a drop; back after their grace, each
        loaded everything again (the snapshot and the list), which made the storm
        longer."""
        short, self._short = self._short, set()
        return short

    def came_back(self, token: str, now: datetime) -> None:
        """Tab `token` is back (taken back at its socket's connect)."""
        if token in self._away:
            self._away.discard(token)
            self._returned = now

    def put_off(self, ended_at: datetime, now: datetime) -> datetime | None:
        """A user's grace is over at `now`, their last tab closed at `ended_at`: when
        their offline falls due instead, if it is put off (None: it is due now).

        It is put off if that close was part of the latest mass drop, and either the
        stretched grace is not over yet (a close before the drop was recognized) or the
        drop's tabs are still coming back; never past `longest` after the close."""
        if self._drop is None or not self._drop[0] <= ended_at <= self._drop[1]:
            return None
        limit = ended_at + self.longest
        if now >= limit:
            return None
        if now < ended_at + self.stretched:
            return ended_at + self.stretched
        if not self._away or self._returned is None or now - self._returned > self.lull:
            return None
        return min(now + self.lull, limit)
