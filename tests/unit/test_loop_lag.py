"""The event loop's lag, and the refusal of new sockets while it runs too far behind
(`chatapp.loop_lag`): the arithmetic with given times, then on a real loop blocked by
real work."""

from __future__ import annotations

import asyncio
import logging
import time

from chatapp.loop_lag import REFUSAL, LoopLag
from tests.support import run_async


def test_a_pending_wake_up_that_is_overdue_counts_as_lag_before_it_comes():
    lag = LoopLag(1.0)
    lag.waiting(10.0)
    assert lag.behind(9.9) == 0.0
    assert lag.behind(10.5) == 0.5


def test_a_late_wake_up_counts_for_the_hold_then_no_more():
    lag = LoopLag(1.0, hold=1.0)
    lag.waiting(10.0)
    lag.woke(12.0)
    assert lag.behind(12.0) == 2.0
    lag.waiting(12.1)
    lag.woke(12.1)  # on time: the loop was 2 s behind a moment ago all the same
    assert lag.behind(12.5) == 2.0
    assert lag.behind(13.1) == 0.0  # the late one is older than the hold
    assert lag.peak == 2.0


def test_a_later_wake_up_as_late_renews_the_hold():
    lag = LoopLag(1.0, hold=1.0)
    lag.waiting(10.0)
    lag.woke(11.5)
    lag.waiting(12.0)
    lag.woke(13.5)
    assert lag.behind(14.0) == 1.5


def _blocked_loop_refusals(max_lag: float, block: float) -> tuple[str | None, str | None, int]:
    """A loop with the monitor running: it is blocked by `block` seconds of work, then
    asked whether to refuse (right after, and once the hold is over)."""

    async def scenario():
        lag = LoopLag(max_lag, every=0.05, hold=0.3)
        monitor = asyncio.create_task(lag.run())
        await asyncio.sleep(0.2)  # the monitor has been woken on time
        on_time = lag.refusal()
        time.sleep(block)  # work that holds the loop, as a storm's backlog does
        behind = lag.refusal()  # asked before the overdue wake-up has come
        await asyncio.sleep(0.6)
        after = lag.refusal()
        monitor.cancel()
        return on_time, behind, after, lag.refused

    on_time, behind, after, refused = run_async(scenario())
    assert on_time is None
    return behind, after, refused


def test_a_loop_held_up_refuses_new_sockets_until_it_has_caught_up(caplog):
    with caplog.at_level(logging.WARNING, logger="chatapp.loop_lag"):
        behind, after, refused = _blocked_loop_refusals(max_lag=0.2, block=0.5)
    assert behind == REFUSAL
    assert after is None
    assert refused == 1
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("event loop 0.") and "refusing new sockets" in line for line in lines), lines
    assert any(line.startswith("event loop caught up: refused 1 new sockets") for line in lines), lines


def test_no_refusal_when_the_limit_is_off():
    behind, after, refused = _blocked_loop_refusals(max_lag=0, block=0.5)
    assert (behind, after, refused) == (None, None, 0)
