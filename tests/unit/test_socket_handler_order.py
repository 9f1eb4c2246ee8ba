"""The socket handlers of one tab token run one after another, in order, and at most
`at_once` run at a time (`reflex_adapter.sockets.TokenOrder`): in a reconnect storm a
tab's reconnect is handled after its close, and thousands of handlers wait their turn
instead of queueing for the Redis pool past its timeout."""

from __future__ import annotations

import asyncio

from chatapp.line import Line
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


class _Records:
    """A token manager whose links and unlinks say when they run, and whose unlinks end
    only when the test lets them (a Redis that holds deletes)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def link_token_to_sid(self, token: str, sid: str) -> str | None:
        self.calls.append(f"link {token} {sid}")
        return None

    async def disconnect_token(self, token: str, sid: str) -> None:
        self.calls.append(f"unlink {token} {sid}")
        await self.release.setdefault(token, asyncio.Event()).wait()
        self.calls.append(f"unlinked {token} {sid}")


def test_a_reconnect_takes_over_its_tabs_waiting_unlink_and_waits_for_no_one_elses():
    """`take_turns_linking`: a tab's link does the unlink of its closed socket itself if
    that still waits for its turn (behind the unlinks of other tabs), never twice, and
    waits for one already under way."""

    async def scenario():
        records = _Records()
        sockets.take_turns_linking(records, links=Line(1), unlinks=Line(1))
        for token in ("a", "b", "c"):
            records.release[token] = asyncio.Event()
        closing = [asyncio.create_task(records.disconnect_token(t, f"{t}1")) for t in ("a", "b", "c")]
        await asyncio.sleep(0.01)  # a's unlink under way (held); b's and c's wait their turn
        records.release["c"].set()
        await asyncio.wait_for(records.link_token_to_sid("c", "c2"), 1)  # not behind a's or b's
        seen = {"c back, a still held": list(records.calls)}
        relinking_a = asyncio.create_task(records.link_token_to_sid("a", "a2"))
        await asyncio.sleep(0.01)
        seen["a's link waits for a's unlink"] = not relinking_a.done()
        records.release["a"].set()
        await asyncio.wait_for(relinking_a, 1)
        records.release["b"].set()
        await asyncio.wait_for(asyncio.gather(*closing), 1)
        seen["in the end"] = records.calls
        return seen

    seen = run_async(scenario())
    assert seen["c back, a still held"] == ["unlink a a1", "unlink c c1", "unlinked c c1", "link c c2"]
    assert seen["a's link waits for a's unlink"] is True
    end = seen["in the end"]
    # Every unlink ran once (c's own turn, taken over, unlinked nothing more) ...
    assert sorted(end) == sorted(
        [
            *("unlink a a1", "unlinked a a1", "link a a2"),
            *("unlink b b1", "unlinked b b1"),
            *("unlink c c1", "unlinked c c1", "link c c2"),
        ]
    )
    # ... and a's link ran once a's unlink had ended.
    assert end.index("unlinked a a1") < end.index("link a a2")


def test_a_connect_of_a_tab_with_no_unlink_pending_links_at_once():
    async def scenario():
        records = _Records()
        sockets.take_turns_linking(records, links=Line(1), unlinks=Line(1))
        records.release["x"] = asyncio.Event()
        held = asyncio.create_task(records.disconnect_token("x", "x1"))  # another tab's, held
        await asyncio.sleep(0.01)
        result = await asyncio.wait_for(records.link_token_to_sid("y", "y1"), 1)
        records.release["x"].set()
        await held
        return result, records.calls

    assert run_async(scenario()) == (None, ["unlink x x1", "link y y1", "unlinked x x1"])


def test_a_link_in_the_same_pass_of_the_loop_as_its_tabs_close_finds_the_unlink():
    """Reflex starts the unlink as a task of its own: a reconnect of the tab handled before
    that task first runs must still find the unlink, and do it first."""

    async def scenario():
        records = _Records()
        sockets.take_turns_linking(records, links=Line(1), unlinks=Line(1))
        records.release["a"] = asyncio.Event()
        records.release["a"].set()
        closing = asyncio.ensure_future(records.disconnect_token("a", "a1"))  # not started yet
        await records.link_token_to_sid("a", "a2")
        await closing
        return records.calls

    assert run_async(scenario()) == ["unlink a a1", "unlinked a a1", "link a a2"]
