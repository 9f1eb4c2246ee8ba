"""Password checks run one at a time, off the event loop, behind a short queue."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from chatapp.services import password_gate
from tests.support import run_async


def test_checks_run_one_at_a_time_in_a_worker_thread_and_the_loop_stays_free():
    running, most, threads = 0, 0, set()
    lock = threading.Lock()

    def check(n: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threads.add(threading.get_ident())
        time.sleep(0.05)
        with lock:
            running -= 1
        return n

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        beat = asyncio.create_task(ticker())
        results = await asyncio.gather(*(password_gate.run(check, n) for n in range(5)))
        beat.cancel()
        return results, ticks

    results, ticks = run_async(scenario())
    assert results == [0, 1, 2, 3, 4]
    assert most == 1
    assert threading.get_ident() not in threads
    assert ticks > 10  # the loop ran meanwhile: 5 checks of 50 ms took 250 ms


def test_beyond_the_queue_an_attempt_is_refused_at_once_and_nothing_is_checked():
    release = threading.Event()
    checked = []

    def check(n: int) -> int:
        checked.append(n)
        release.wait(5)
        return n

    async def scenario():
        first = [asyncio.create_task(password_gate.run(check, n)) for n in range(1 + password_gate.QUEUE)]
        await asyncio.sleep(0.05)
        with pytest.raises(password_gate.Busy, match="Try again in a few seconds"):
            await password_gate.run(check, 99)
        release.set()
        return await asyncio.gather(*first)

    done = run_async(scenario())
    assert done == list(range(1 + password_gate.QUEUE))
    assert 99 not in checked


def test_a_known_request_is_admitted_past_a_full_strangers_queue_and_goes_first():
    """A flood fills the strangers' lane; someone logging in where they logged in before
    (or a signed-in user) is still admitted, and checked before every waiting stranger."""
    release = threading.Event()
    order: list[str] = []

    def check(name: str) -> str:
        if name == "first":
            release.wait(5)
        order.append(name)
        return name

    async def scenario():
        strangers = [asyncio.create_task(password_gate.run(check, "first"))]
        await asyncio.sleep(0.05)  # "first" holds the turn
        strangers += [
            asyncio.create_task(password_gate.run(check, f"s{n}")) for n in range(password_gate.QUEUE)
        ]
        await asyncio.sleep(0.05)
        with pytest.raises(password_gate.Busy):
            await password_gate.run(check, "one stranger too many")
        known = asyncio.create_task(password_gate.run(check, "known", known=True))
        await asyncio.sleep(0.05)
        release.set()
        return await known, await asyncio.gather(*strangers)

    known, strangers = run_async(scenario())
    assert known == "known"
    assert order[:2] == ["first", "known"]  # ahead of the 8 strangers who waited longer
    assert sorted(strangers) == sorted(["first", *(f"s{n}" for n in range(password_gate.QUEUE))])


def test_a_waiting_check_that_is_cancelled_gives_its_turn_to_the_next():
    release = threading.Event()

    def check(name: str) -> str:
        if name == "first":
            release.wait(5)
        return name

    async def scenario():
        first = asyncio.create_task(password_gate.run(check, "first"))
        await asyncio.sleep(0.05)
        gone = asyncio.create_task(password_gate.run(check, "gone"))
        after = asyncio.create_task(password_gate.run(check, "after"))
        await asyncio.sleep(0.05)
        gone.cancel()
        release.set()
        return await first, await asyncio.wait_for(after, 5), gone.cancelled()

    assert run_async(scenario()) == ("first", "after", True)


def test_a_waiter_cancelled_just_before_a_release_ends_cancelled_and_leaves_the_gate_free():
    """The flood on two instances logged `ValueError: <Future cancelled> is not in deque`:
    an attacker's connection closed while its check waited, and the check before it ended in
    the same moment; the release dropped the cancelled turn before the waiter took it out."""

    async def scenario():
        gate = password_gate._Gate()
        await gate.acquire(False)  # a check runs
        waiter = asyncio.create_task(gate.acquire(False))
        await asyncio.sleep(0)  # it waits its turn
        waiter.cancel()  # its connection closed ...
        gate.release()  # ... as the running check ended
        (outcome,) = await asyncio.gather(waiter, return_exceptions=True)
        return outcome, gate.busy, list(gate.waiting[False])

    outcome, busy, waiting = run_async(scenario())
    assert isinstance(outcome, asyncio.CancelledError)
    assert busy is False and waiting == []
