"""Moving windows kept in this process: the `limits` storage of an instance without Redis.

Why not `limits.aio.storage.MemoryStorage`: its clean-up task walks every key holding
that key's lock while it waits for a worker thread (`asyncio.to_thread`), one key at a
time. Under a login flood the worker threads are busy with bcrypt, so a hit on any key
the walk reached waited for a password check; and a key cleared during the walk
(`LoginThrottle` clears its "attempt in progress" key after every attempt) made the walk
raise `KeyError` ("Task exception was never retrieved"), which ended that clean-up.

Here every operation is plain code between two awaits of the one event loop, so it is
atomic without locks and never waits for a thread. Expired hits are dropped from a key
whenever it is touched, and keys nobody touched lately are swept at most once a `sweep`
interval, from inside a hit. The pure functions take `now` as an argument.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

from limits.aio.storage import MovingWindowSupport, Storage


def prune(hits: list[float], expiry: float, now: float) -> None:
    """Drop the hits (oldest first) that are out of the window ending at `now`."""
    del hits[: bisect.bisect_right(hits, now - expiry)]


def acquire(hits: list[float], limit: int, expiry: float, amount: int, now: float) -> bool:
    """Count `amount` hits at `now` if the window keeps at most `limit`.

    Args:
        hits: The key's hit times, oldest first; changed in place.
        limit: The most hits in any window.
        expiry: The window's length in seconds.
        amount: How many hits to count (all or none).
        now: The current time.

    Returns:
        Whether they were counted.
    """
    prune(hits, expiry, now)
    if amount > limit or len(hits) + amount > limit:
        return False
    hits.extend([now] * amount)
    return True


def window(hits: list[float], expiry: float, now: float) -> tuple[float, int]:
    """(When the oldest hit in the window was, how many there are); `now` when none."""
    prune(hits, expiry, now)
    return (hits[0], len(hits)) if hits else (now, 0)


class ProcessWindows(Storage, MovingWindowSupport):
    """A `limits` storage for the moving-window strategy, in this process only.

    Args:
        clock: Seconds since the epoch (the same clock as `time.time`, which the
            limiter's `retry_after` compares with).
        sweep: Seconds between two sweeps of keys whose hits have all expired.
    """

    STORAGE_SCHEME = None  # made directly, never from a URI

    def __init__(self, clock: Callable[[], float] = time.time, sweep: float = 60.0) -> None:
        super().__init__()
        self._clock = clock
        self._sweep_every = sweep
        self._next_sweep = clock() + sweep
        self._hits: dict[str, list[float]] = {}
        self._expiry: dict[str, float] = {}

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def __len__(self) -> int:
        """How many keys hold hits (expired ones included until they are swept)."""
        return len(self._hits)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self._sweep_every
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self._expiry[k]]:
            del self._hits[key], self._expiry[key]

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        self._expiry[key] = expiry
        return acquire(self._hits.setdefault(key, []), limit, expiry, amount, now)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return window(self._hits.get(key, []), expiry, self._clock())

    async def clear(self, key: str) -> None:
        self._hits.pop(key, None)
        self._expiry.pop(key, None)

    async def reset(self) -> int | None:
        count = len(self._hits)
        self._hits.clear()
        self._expiry.clear()
        return count

    async def check(self) -> bool:
        return True

    # The fixed-window strategies' counters: this storage serves moving windows only, and
    # the app uses no other strategy. A mistake in wiring says so at once.
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        msg = "ProcessWindows serves the moving-window strategy only."
        raise NotImplementedError(msg)

    async def get(self, key: str) -> int:
        msg = "ProcessWindows serves the moving-window strategy only."
        raise NotImplementedError(msg)

    async def get_expiry(self, key: str) -> float:
        msg = "ProcessWindows serves the moving-window strategy only."
        raise NotImplementedError(msg)
