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
