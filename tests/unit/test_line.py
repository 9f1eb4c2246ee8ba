"""`chatapp.line.Line`: at most so many at once, the rest served in the order they came;
a waiter that leaves (cancelled, as Reflex cancels a closed socket's hydrate) loses its
place without costing anyone theirs, and a place given to a waiter that left just then
goes on to the next."""

from __future__ import annotations

import asyncio

import pytest

from chatapp.line import Line
from tests.support import run_async


async def _all(*tasks: asyncio.Future) -> None:
    """Wait for every task; a place lost (someone left waiting for ever) fails here."""
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)


def _visitor(line: Line, served: list):
    """A visit: takes a place in `line`, says who it is in `served`, leaves."""

    async def visit(who) -> None:
        async with line:
            served.append(who)

    return visit


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_waiters_are_served_in_the_order_they_came_never_more_than_its_places_at_once():
    async def scenario() -> tuple[list[int], int]:
        line, served, inside, most = Line(2), [], 0, 0

        async def visit(n: int) -> None:
            nonlocal inside, most
            async with line:
                inside += 1
                most = max(most, inside)
                served.append(n)
                await asyncio.sleep(0)
                inside -= 1

        await asyncio.gather(*(visit(n) for n in range(20)))
        return served, most

    served, most = run_async(scenario())
    assert served == list(range(20))
    assert most == 2


def test_a_waiter_that_leaves_loses_its_place_and_the_others_keep_theirs():
    async def scenario() -> tuple[list[int], bool, tuple[int, int]]:
        line, served = Line(1), []
        await line.acquire()  # held: everyone below waits

        visit = _visitor(line, served)
        visits = [asyncio.create_task(visit(n)) for n in range(6)]
        await _settle()
        waiting_then = line.waiting()
        visits[2].cancel()
        visits[4].cancel()
        await _settle()
        waiting_then = (waiting_then, line.waiting())  # the two who left are out at once
        line.release()
        await _all(*visits)
        return served, line.locked(), waiting_then

    served, locked, waiting_then = run_async(scenario())
    assert waiting_then == (6, 4)
    assert served == [0, 1, 3, 5]
    assert locked is False  # every place back: nobody holds one, nobody waits


def test_a_place_given_to_a_waiter_just_as_it_leaves_goes_on_to_the_next():
    async def scenario() -> tuple[list[str], bool]:
        line, served = Line(1), []
        await line.acquire()

        visit = _visitor(line, served)
        first = asyncio.create_task(visit("first"))
        second = asyncio.create_task(visit("second"))
        await _settle()
        line.release()  # the place is handed to `first`, which has not run yet...
        first.cancel()  # ...and leaves before it could use it
        await _all(first, second)
        return served, line.locked()

    served, locked = run_async(scenario())
    assert served == ["second"]
    assert locked is False


def test_a_place_given_back_goes_to_the_first_waiter_not_to_one_who_comes_later():
    async def scenario() -> list[str]:
        line, order = Line(1), []
        await line.acquire()

        visit = _visitor(line, order)
        waiter = asyncio.create_task(visit("waiter"))
        await _settle()
        line.release()
        late = asyncio.create_task(visit("late"))  # comes after the release, before the waiter runs
        await _all(waiter, late)
        return order

    assert run_async(scenario()) == ["waiter", "late"]


def test_a_line_needs_a_place():
    with pytest.raises(ValueError, match="at least one place"):
        Line(0)
