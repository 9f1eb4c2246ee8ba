"""The timers of one process's presence service: the end of a grace, the end of a
chosen status. Each only asks the service to evaluate the user again, so a timer that
fires late, twice, or on two instances at once changes nothing that is not due."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

OnGrace = Callable[..., Awaitable[None]]  # called as on_grace(user_id, grace_due=due)
OnExpiry = Callable[[int], Awaitable[None]]


class Timers:
    """At most one grace timer and one expiry timer per user."""

    def __init__(self) -> None:
        self._graces: dict[int, tuple[datetime, asyncio.Task]] = {}
        self._expiries: dict[int, asyncio.Task] = {}

    def grace(self, user_id: int, due: datetime, delay: float, on_grace: OnGrace) -> None:
        """Call `on_grace(user_id, grace_due=due)` after `delay` seconds (unless a timer
        for the same due time runs already)."""
        held = self._graces.get(user_id)
        if held is not None and held[0] == due:
            return
        self.cancel_grace(user_id)
        task = asyncio.get_running_loop().create_task(self._grace(user_id, due, delay, on_grace))
        self._graces[user_id] = (due, task)

    async def _grace(self, user_id: int, due: datetime, delay: float, on_grace: OnGrace) -> None:
        await asyncio.sleep(delay)
        held = self._graces.get(user_id)
        if held is not None and held[1] is asyncio.current_task():
            del self._graces[user_id]
        await on_grace(user_id, grace_due=due)

    def cancel_grace(self, user_id: int) -> None:
        """Stop the user's grace timer, if any (not from within that timer)."""
        held = self._graces.get(user_id)
        if held is not None and held[1] is not asyncio.current_task():
            del self._graces[user_id]
            held[1].cancel()

    def expire(self, user_id: int, until: datetime | None, now: datetime, on_expiry: OnExpiry) -> None:
        """Call `on_expiry(user_id)` at `until` (replacing the user's expiry timer; None
        only cancels it)."""
        old = self._expiries.pop(user_id, None)
        if old is not None:
            old.cancel()
        if until is not None:
            delay = max(0.0, (until - now).total_seconds())
            self._expiries[user_id] = asyncio.get_running_loop().create_task(
                self._expire(user_id, delay, on_expiry)
            )

    async def _expire(self, user_id: int, delay: float, on_expiry: OnExpiry) -> None:
        await asyncio.sleep(delay)
        if self._expiries.get(user_id) is asyncio.current_task():
            del self._expiries[user_id]
        await on_expiry(user_id)

    async def close(self) -> None:
        """Stop every timer and wait until they have stopped."""
        tasks = [task for _, task in self._graces.values()] + list(self._expiries.values())
        self._graces.clear()
        self._expiries.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
