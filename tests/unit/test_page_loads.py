"""Page loads take turns: at most `CHATAPP_PAGE_LOADS` run at once, and all complete."""

from __future__ import annotations

import asyncio

from chatapp.settings import settings
from chatapp.states.page_loads import page_load
from tests.support import run_async


class _Tab:
    running = 0
    most = 0
    done = 0

    @page_load
    async def load(self, pause: float) -> str:
        _Tab.running += 1
        _Tab.most = max(_Tab.most, _Tab.running)
        await asyncio.sleep(pause)
        _Tab.running -= 1
        _Tab.done += 1
        return "loaded"


def test_a_storm_of_page_loads_runs_a_few_at_a_time_and_every_one_completes():
    _Tab.running = _Tab.most = _Tab.done = 0

    async def storm():
        return await asyncio.gather(*(_Tab().load(0.01) for _ in range(40)))

    results = run_async(storm())
    assert results == ["loaded"] * 40 and _Tab.done == 40
    assert _Tab.most == settings.page_loads  # the gate was full, never over


def test_page_loads_take_turns_the_same_while_a_server_runs_in_memory(monkeypatch):
    """With a running server whose states are in memory (the e2e suite's, say), a page
    load needs no lock kept: nothing of the tab beyond the handler is touched."""
    from types import SimpleNamespace

    from chatapp import runtime

    class _Memory:  # not Reflex's Redis state manager
        pass

    running = SimpleNamespace(push=SimpleNamespace(app=SimpleNamespace(state_manager=_Memory())))
    monkeypatch.setattr(runtime, "running", lambda: running)
    _Tab.running = _Tab.most = _Tab.done = 0

    async def storm():
        return await asyncio.gather(*(_Tab().load(0.01) for _ in range(12)))

    assert run_async(storm()) == ["loaded"] * 12
    assert _Tab.most == settings.page_loads
