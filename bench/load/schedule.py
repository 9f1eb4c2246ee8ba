"""Doing things on time in a client process: at given moments, and no later than a deadline.

Every moment is `time.perf_counter()` (CLOCK_MONOTONIC, one clock for every process of
the machine), so the moments the benchmark's process sets hold in its client processes.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

# How long jobs still running at the deadline are given before they are abandoned.
_GRACE = 30.0

K = TypeVar("K", bound=Hashable)


async def sleep_until(moment: float) -> None:
    """Sleep until a moment (return at once if it has passed)."""
    delay = moment - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


async def on_time(jobs: list[tuple[float, Callable[[], Awaitable[None]]]], start: float, until: float) -> int:
    """Start each job (seconds after `start`, what to run) on time, and return at `until`
    once every one is done (or 30 s later).

    Returns:
        How many did not finish (cancelled).
    """
    tasks = []
    for at, job in sorted(jobs, key=lambda j: j[0]):
        await sleep_until(start + at)
        tasks.append(asyncio.create_task(job()))
    await sleep_until(until)
    _, pending = await asyncio.wait(tasks, timeout=_GRACE) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    return len(pending)


async def reports_on_time(
    jobs: list[tuple[K, float, Callable[[], Awaitable[None]]]], start: float, until: float, unfinished: str
) -> list[tuple[K | None, str]]:
    """Like `on_time`, for jobs that each report something of a step (its id, seconds
    after `start`, the report): a report that fails does not stop the others.

    Returns:
        The errors: (id, the exception) of each report that raised, (None, `unfinished`)
        of each that was abandoned.
    """
    errors: list[tuple[K | None, str]] = []

    async def guarded(key: K, job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except Exception as exc:
            errors.append((key, repr(exc)))

    pending = await on_time(
        [(at, functools.partial(guarded, key, job)) for key, at, job in jobs], start, until
    )
    return errors + [(None, unfinished)] * pending
