"""What closed tabs leave behind: a full garbage collection once most of them are gone.

A closed socket leaves its connection's objects in reference cycles (tracebacks of
cancelled events with their frames, futures, Granian's protocol object holding native
buffers): 2,000 closed tabs kept about 260 MiB until Python's next full collection, which a
quiet server does not make (docs/socket-memory.md). A full collection walks every object of
the process and holds the event loop while it does (seconds at that size), so it runs only
when it frees more than it costs the tabs still open: once at least `min_closed` tabs, and
twice as many as are open now, have closed since the last one, after their states' TTL (so
that the states are garbage too).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class ClosedTabCleanup:
    """Counts closed tabs; collects garbage when enough have gone."""

    def __init__(self, open_tabs: Callable[[], int], *, delay: float, min_closed: int = 200) -> None:
        """Count closed tabs against the open ones.

        Args:
            open_tabs: How many tabs have a socket on this instance now.
            delay: Seconds to wait after the deciding close (the states' TTL and then some).
            min_closed: Fewer closed tabs than this are not worth a collection.
        """
        self._open_tabs = open_tabs
        self._delay = delay
        self._min_closed = min_closed
        self.closed = 0
        self._pending: asyncio.TimerHandle | None = None

    def tab_closed(self) -> None:
        """A tab closed for good (it did not come back within the grace)."""
        self.closed += 1
        if self._pending is None and self.closed >= max(self._min_closed, 2 * self._open_tabs()):
            self._pending = asyncio.get_running_loop().call_later(self._delay, self._collect)

    def _collect(self) -> None:
        self._pending = None
        if self.closed < max(self._min_closed, 2 * self._open_tabs()):
            return  # tabs came back meanwhile: not worth it now
        started = time.perf_counter()
        found = gc.collect()
        logger.info(
            "collected %d objects after %d closed tabs in %.0f ms",
            found,
            self.closed,
            (time.perf_counter() - started) * 1000,
        )
        self.closed = 0

    def stop(self) -> None:
        """Forget a collection not yet run (shutdown)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
