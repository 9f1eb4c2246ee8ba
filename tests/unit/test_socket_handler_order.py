"""The socket handlers of one tab token run one after another, in order, and at most
`at_once` run at a time (`reflex_adapter.sockets.TokenOrder`): in a reconnect storm a
tab's reconnect is handled after its close, and thousands of handlers wait their turn
instead of queueing for the Redis pool past its timeout."""

from __future__ import annotations

import asyncio

from chatapp.reflex_adapter import sockets
from chatapp.reflex_adapter.sockets import TokenOrder
from tests.support import run_async


def _recorder(log: list, running: list[int], most: list[int], pause: float = 0.02):
    async def handler(token: str, sid: str) -> None:
        running[0] += 1
        most[0] = max(most[0], running[0])
        log.append(("start", token, sid))
        await asyncio.sleep(pause)
        log.append(("end", token, sid))
        running[0] -= 1

    return handler


def test_a_tokens_handlers_run_in_order_each_after_the_one_before_ends():
    async def scenario():
        log, running, most = [], [0], [0]
        order = TokenOrder()
        slow_close = _recorder(log, running, most, pause=0.1)
        quick_open = _recorder(log, running, most, pause=0.0)
        tasks = [order.spawn(slow_close, "t1", "s1"), order.spawn(quick_open, "t1", "s2")]
        await asyncio.gather(*tasks)
        return log

    log = run_async(scenario())
    assert log == [("start", "t1", "s1"), ("end", "t1", "s1"), ("start", "t1", "s2"), ("end", "t1", "s2")]


def test_at_most_at_once_handlers_run_together_and_every_one_runs():
    async def scenario():
        log, running, most = [], [0], [0]
        order = TokenOrder(at_once=3)
        handler = _recorder(log, running, most)
        await asyncio.gather(*(order.spawn(handler, f"t{i}", "s") for i in range(20)))
        return log, most[0]

    log, most = run_async(scenario())
    assert most == 3
    assert sorted(token for kind, token, _ in log if kind == "end") == sorted(f"t{i}" for i in range(20))


def test_a_failed_handler_does_not_stop_the_next_of_its_token(monkeypatch):
    # Its failure is logged as an error (which would fail this test: see conftest.py).
    monkeypatch.setattr(sockets.logger, "disabled", True)

    async def scenario():
        ran = []

        async def fails(token: str, sid: str) -> None:
            raise RuntimeError("Redis went away")

        async def runs(token: str, sid: str) -> None:
            ran.append(sid)

        order = TokenOrder(at_once=1)
        first, second = order.spawn(fails, "t1", "s1"), order.spawn(runs, "t1", "s2")
        await asyncio.wait([first, second])
        return ran

    assert run_async(scenario()) == ["s2"]


def test_settled_waits_for_the_tokens_handlers_so_far_and_no_others():
    """A page load waits for its tab's socket handlers (`sockets.handled`): its
    reconnect is taken back before the page load asks whether it was."""

    async def scenario():
        log, running, most = [], [0], [0]
        order = TokenOrder(at_once=1)
        order.spawn(_recorder(log, running, most, pause=0.1), "other", "s0")  # takes the only turn
        order.spawn(_recorder(log, running, most, pause=0.0), "t1", "s1")
        await order.settled("t1")
        at_settled = list(log)
        await order.settled("never-seen")  # nothing to wait for
        await order.settled("other")
        return at_settled

    at_settled = run_async(scenario())
    assert ("end", "t1", "s1") in at_settled


def test_a_connect_waits_for_its_tabs_last_unlink_and_no_one_elses():
    """`Unlinks`: a tab's reconnect is linked once Reflex's unlink of its closed socket
    has ended, however it ended; another tab's connect does not wait for it."""

    async def scenario():
        unlinks = sockets.Unlinks()
        loop = asyncio.get_running_loop()
        first, latest = loop.create_future(), loop.create_future()
        unlinks.add("t1", first)
        unlinks.add("t1", latest)  # a second close of the tab: its unlink is the one to wait for
        other = asyncio.create_task(unlinks.settled("t2"))
        waiting = asyncio.create_task(unlinks.settled("t1"))
        await asyncio.sleep(0.01)
        seen = {"other tab waited": not other.done(), "done before its unlink": waiting.done()}
        first.set_result(None)  # the earlier one ending leaves the latest in place
        await asyncio.sleep(0.01)
        seen["done after the earlier unlink"] = waiting.done()
        latest.set_exception(ConnectionError("Redis went away"))  # a failed unlink ends too
        await asyncio.wait_for(waiting, 1)
        latest.exception()  # retrieved: no warning of an exception never read
        await unlinks.settled("t1")  # nothing pending any more
        seen["left pending"] = dict(unlinks._pending)
        return seen

    assert run_async(scenario()) == {
        "other tab waited": False,
        "done before its unlink": False,
        "done after the earlier unlink": False,
        "left pending": {},
    }


def test_a_connect_without_a_token_waits_for_nothing():
    assert sockets.token_in({"QUERY_STRING": "token=abc&EIO=4&transport=websocket"}) == "abc"
    assert sockets.token_in({"QUERY_STRING": "EIO=4"}) is None
    assert sockets.token_in({}) is None
    run_async(asyncio.wait_for(sockets.Unlinks().settled(None), 1))
