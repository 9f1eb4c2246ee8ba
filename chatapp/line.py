"""A line: at most so many at once, the others waiting first come, first served, each
free to leave the line at no cost to the others.

`asyncio.Semaphore` does the first two, but a waiter that leaves before its turn is
taken out of a `deque` by value, a scan of everyone ahead of it. In a reconnect storm
thousands wait for a turn (page loads, hydrates, deliveries) and Reflex cancels the
hydrate and the page load of every socket that closes meanwhile: at 10,000 tabs that
scan was 5 % of the storm's samples (`deque.remove` under `Semaphore.acquire`,
docs/instances.md). Here the waiters are kept in an `OrderedDict` (a linked list by
key): leaving is one deletion, and the first waiter is found without a scan. A place
given back goes straight to the first waiter (no one who came later takes it first).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from types import TracebackType

__all__ = ["Line"]


class Line:
    """At most `places` holders at once; the rest wait in the order they came.

    The same use as `asyncio.Semaphore` (`async with`, `acquire`, `release`, `locked`).

    Args:
        places: How many may hold a place at once (at least 1).
    """

    def __init__(self, places: int) -> None:
        if places < 1:
            msg = f"a line needs at least one place, not {places}"
            raise ValueError(msg)
        self._free = places
        # The waiters, first come first (values unused).
        self._waiting: OrderedDict[asyncio.Future[None], None] = OrderedDict()

    def locked(self) -> bool:
        """Whether an `acquire` now would wait."""
        return self._free == 0 or bool(self._waiting)

    def waiting(self) -> int:
        """How many wait for a place."""
        return len(self._waiting)

    async def acquire(self) -> bool:
        """Take a place, waiting behind those who came earlier. A waiter cancelled
        leaves the line (a place it was given meanwhile goes to the next one)."""
        if not self.locked():
            self._free -= 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[turn] = None
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # given its place just as it left: the next one's now
            else:
                self._waiting.pop(turn, None)
            raise
        return True

    def release(self) -> None:
        """Give a place back: to the first waiter still waiting, else to the line."""
        while self._waiting:
            turn, _ = self._waiting.popitem(last=False)
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
