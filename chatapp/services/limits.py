"""Rate limits: how often one session may send messages or change presence, and how
often a username or an address may fail to log in.

The windows are pure: every check takes `now` (seconds on any monotonic clock).
They live in the process; with several instances each one limits its own sessions.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from chatapp.services.errors import ChatError


class RateLimited(ChatError):
    """Too many requests in the window; nothing was done."""


@dataclass
class SlidingWindow:
    """At most `limit` events per `window` seconds for each key."""

    limit: int
    window: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            self._hits.pop(key, None)
            hits = self._hits.setdefault(key, deque())
        return hits

    def retry_after(self, key: str, now: float) -> float:
        """Seconds until one more event is allowed (0 when it is now)."""
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return 0.0
        return hits[0] + self.window - now

    def hit(self, key: str, now: float) -> None:
        """Count one event."""
        self._recent(key, now).append(now)

    def take(self, key: str, now: float, what: str) -> None:
        """Count one event if allowed.

        Raises:
            RateLimited: Over the limit, with when to try again.
        """
        wait = self.retry_after(key, now)
        if wait > 0:
            msg = f"Too many {what}. Try again in {math.ceil(wait)} s."
            raise RateLimited(msg)
        self.hit(key, now)

    def forget(self, key: str) -> None:
        """Drop a key's history (a successful login clears its failures)."""
        self._hits.pop(key, None)


# Per tab: a person types far slower; a script is cut off, and others are unaffected.
messages = SlidingWindow(limit=20, window=10.0)
# Per tab: status choices and idle reports together.
presence_changes = SlidingWindow(limit=30, window=60.0)
# Failed logins, per username and per client address.
login_failures_by_user = SlidingWindow(limit=5, window=300.0)
login_failures_by_address = SlidingWindow(limit=20, window=300.0)


def now() -> float:
    """The clock of the limits."""
    return time.monotonic()
