"""Sockets are let in at the pace the event loop keeps up with (`chatapp.admission`):
all at once while it keeps up, fewer as it falls behind, never none, first come first
served, and every one in the end."""

from __future__ import annotations

import asyncio
import time

from chatapp.admission import Admission, allowance
from tests.support import run_async


def test_the_allowance_is_a_burst_while_the_loop_keeps_up_and_shrinks_with_its_lag():
    assert allowance(0.0, burst=16, max_lag=0.1) == 16
    assert allowance(0.1, burst=16, max_lag=0.1) == 16
    assert allowance(0.2, burst=16, max_lag=0.1) == 8
    assert allowance(0.8, burst=16, max_lag=0.1) == 2
    assert allowance(30.0, burst=16, max_lag=0.1) == 1  # never none


def test_connects_beyond_a_burst_wait_and_go_in_first_come_first_served():
    order: list[int] = []

    async def scenario():
        admission = Admission(tick=0.02, burst=3, max_lag=0.5)

        async def connect(i: int) -> None:
            await admission.turn()
            order.append(i)

        tasks = []
        for i in range(10):
            tasks.append(asyncio.create_task(connect(i)))
            await asyncio.sleep(0)  # they arrive one after another
        await asyncio.sleep(0)
        straight_in = list(order)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        return straight_in, admission.most_waiting

    straight_in, most_waiting = run_async(scenario())
    assert straight_in == [0, 1, 2]  # a burst goes straight in
    assert order == list(range(10))  # the rest in their order, every one
    assert most_waiting == 7


def test_a_loop_that_fell_behind_lets_in_fewer_and_a_connect_that_gave_up_takes_no_turn():
    async def scenario():
        admission = Admission(tick=0.02, burst=4, max_lag=0.05)
        for _ in range(4):
            await admission.turn()  # the burst is used up
        waiting = [asyncio.create_task(admission.turn()) for _ in range(6)]
        await asyncio.sleep(0)
        waiting[0].cancel()  # its socket went away while it waited
        await asyncio.sleep(0)
        before = admission.waiting
        time.sleep(0.4)  # the loop is held: the next tick wakes 0.4 s late
        for _ in range(3):  # the late tick runs, not the next one (0.02 s on)
            await asyncio.sleep(0)
        after_lag = before - admission.waiting
        await asyncio.wait_for(asyncio.gather(*waiting[1:]), 5)
        return before, after_lag, admission.waiting

    before, after_lag, left = run_async(scenario())
    assert before == 5
    assert after_lag == 1  # 4 * 0.05 / 0.4 rounds down to 0: at least one
    assert left == 0
