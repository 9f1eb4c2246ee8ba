"""A closed tab's state is dropped soon after it failed to come back, not after Reflex's
hour; a tab back on a socket keeps it."""

from __future__ import annotations

import asyncio

from chatapp import runtime
from chatapp.reflex_adapter import sockets
from tests.integration.support import open_tab
from tests.support import create_user, run_async


def _held(token: str) -> bool:
    return token in runtime.push().app.state_manager.states


async def _until(predicate, timeout: float = 5.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def _forget(token: str, after: float) -> None:
    """`forget_soon` on the app's own event loop, as the wiring calls it."""

    async def call() -> None:
        sockets.forget_soon(runtime.push().app, token, after)

    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), runtime.current().loop))


def test_a_closed_tabs_state_is_dropped_after_its_time_and_an_open_ones_is_kept(backend_url):
    a_id, _ = create_user("expiry")
    namespace = runtime.push().app.event_namespace

    async def scenario():
        gone = await open_tab(backend_url, a_id)
        kept = await open_tab(backend_url, a_id)
        await gone.disconnect()
        closed = await _until(lambda: gone.token not in namespace.sid_to_token.values())
        both_held = _held(gone.token) and _held(kept.token)
        await _forget(gone.token, 0.3)
        await _forget(kept.token, 0.3)  # still connected: left alone
        dropped = await _until(lambda: not _held(gone.token))
        await asyncio.sleep(0.5)
        still = _held(kept.token)
        await kept.disconnect()
        return closed, both_held, dropped, still

    assert run_async(scenario()) == (True, True, True, True)


def test_tabs_forgotten_one_after_another_each_go_at_their_own_time(backend_url):
    """A restart closes thousands of tabs: Reflex's expiry task is started afresh once for
    all their deadlines, not once for each; a deadline sooner than the pending start
    brings it forward, and one later is seen by it."""
    a_id, _ = create_user("expiry2")
    namespace = runtime.push().app.event_namespace

    async def scenario():
        late, soon, middle = [await open_tab(backend_url, a_id) for _ in range(3)]
        for tab in (late, soon, middle):
            await tab.disconnect()
        tokens = {t.token for t in (late, soon, middle)}
        await _until(lambda: not tokens & set(namespace.sid_to_token.values()))
        await _forget(late.token, 1.2)
        await _forget(soon.token, 0.3)  # sooner than the pending start
        await _forget(middle.token, 0.6)  # later: the start at 0.3 s sees it
        soon_gone = await _until(lambda: not _held(soon.token), timeout=0.55)
        late_then = _held(late.token)
        middle_gone = await _until(lambda: not _held(middle.token), timeout=0.6)
        late_gone = await _until(lambda: not _held(late.token), timeout=2.0)
        return soon_gone, late_then, middle_gone, late_gone

    assert run_async(scenario()) == (True, True, True, True)
