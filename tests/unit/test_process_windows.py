"""The in-process moving windows: exact counts at a given `now`, expired hits dropped,
idle keys swept, and nothing that waits for a thread or a lock."""

from __future__ import annotations

import asyncio

from chatapp.services.process_windows import ProcessWindows, acquire, window
from tests.support import run_async


def test_a_window_keeps_at_most_its_limit_and_frees_as_hits_age():
    hits: list[float] = []
    assert [acquire(hits, 3, 10, 1, now) for now in (0, 1, 2, 3)] == [True, True, True, False]
    assert window(hits, 10, 9.5) == (0, 3)
    assert acquire(hits, 3, 10, 1, 10.0) is True  # the hit of 0 left the window at 10
    assert window(hits, 10, 10.0) == (1, 3)
    assert window(hits, 10, 100.0) == (100.0, 0)
    assert hits == []


def test_a_cost_is_counted_whole_or_not_at_all():
    hits: list[float] = []
    assert acquire(hits, 5, 60, 4, 0) is True
    assert acquire(hits, 5, 60, 2, 1) is False
    assert acquire(hits, 5, 60, 6, 2) is False  # more than the limit never passes
    assert window(hits, 60, 30) == (0, 4)


def test_keys_nobody_touches_are_swept_and_others_kept():
    clock = [1000.0]

    async def scenario():
        storage = ProcessWindows(clock=lambda: clock[0], sweep=60)
        for n in range(100):
            await storage.acquire_entry(f"short:{n}", 5, 10)
        await storage.acquire_entry("long", 5, 3600)
        before = len(storage)
        clock[0] += 61
        await storage.acquire_entry("new", 5, 10)  # a hit after the interval sweeps
        return before, len(storage), await storage.get_moving_window("long", 5, 3600)

    before, after, long_window = run_async(scenario())
    assert before == 101
    assert after == 2  # "long" and "new"
    assert long_window == (1000.0, 1)


def test_clearing_keys_while_others_hit_them_is_safe():
    async def scenario():
        storage = ProcessWindows(sweep=0)  # sweep on every hit: the worst case

        async def churn(n: int) -> None:
            for _ in range(50):
                await storage.acquire_entry(f"k{n}", 1, 30)
                await asyncio.sleep(0)
                await storage.clear(f"k{n}")

        await asyncio.gather(*(churn(n) for n in range(40)))
        return len(storage)

    assert run_async(scenario()) == 0
