"""A tab of the benchmark's reconnect storm comes back as the browser's frontend does:
a connect that fails is tried again (200 ms more per attempt, at most 2 s) until the
page has loaded, instead of counting the tab as lost at the first failure (at 10,000
tabs every reconnect failed so, while a browser would have come back)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import socketio

from bench.app_server import free_port
from bench.floor_server import FloorServer
from bench.load.tabs import Tab
from tests.support import run_async


def test_a_storm_tab_keeps_connecting_as_the_frontend_does_until_the_server_takes_it(tmp_path):
    graph = tmp_path / "graph.json"
    graph.write_text(
        json.dumps({"users": {"1": ["u1", "U1"]}, "contacts": {"1": []}, "tokens": {"login-1": "1"}})
    )
    floor = FloorServer(graph, grace=0.5, port=free_port())
    tab = Tab(0, 1, frozenset({1}), "floor", floor.backend_url, "login-1")

    async def scenario():
        reopening = asyncio.create_task(tab.reopen())
        await asyncio.sleep(1.5)  # nothing listens yet: every connect fails
        failed_while_down = tab.connect_retries
        await asyncio.to_thread(floor.__enter__)
        try:
            await asyncio.wait_for(reopening, 30)
            back = tab.connected, tab.statuses()
            await tab.close()
        finally:
            floor.__exit__(None, None, None)
        return failed_while_down, back

    failed_while_down, back = run_async(scenario())
    assert 2 <= failed_while_down <= 6  # tried again at 0.2, 0.4, 0.6… s, not given up
    assert back == (True, {"1": "online"})  # back, its page loaded


def test_a_storm_tab_gives_up_at_the_deadline_it_is_given(tmp_path):
    """The storm passes its own end as the tab's deadline (not a fixed 120 s): a tab
    whose server never answers fails then, with the attempts it made meanwhile."""
    tab = Tab(0, 1, frozenset({1}), "floor", f"http://127.0.0.1:{free_port()}", "login-1")

    async def scenario():
        started = time.perf_counter()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await tab.reopen(started + 2.0)
        return time.perf_counter() - started

    took = run_async(scenario())
    assert 1.0 <= took <= 4.0  # the last attempt that could start before the deadline, then no more
    assert tab.connect_retries >= 2
    assert not tab.connected and not tab.loading
