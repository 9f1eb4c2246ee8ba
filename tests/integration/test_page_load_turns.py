"""Page loads take turns (`states/page_loads.py`), their hydrates too; a page load
waiting for its turn whose socket closes meanwhile is dropped: its tab is not registered
(no ghost online for the user's contacts) and no turn is spent on a page nobody will see.

Reflex 0.10.1 does the dropping: a socket's disconnect cancels its unfinished hydrate and
page-load chain (`BaseStateEventProcessor._on_disconnect`). Without that, the load ran
when its turn came and registered a tab with no socket (checked: this test then fails
on the tab count), so a reconnect storm in which clients give up would do the work twice.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import reflex as rx

from bench.reflex_client import ReflexClient
from chatapp import runtime, wire
from chatapp.settings import settings
from chatapp.states import page_loads
from chatapp.states.app_state import AppState
from tests.integration.support import open_tab, two_contacts
from tests.support import auth_token_for, on_backend, run_async


async def _hold_every_turn(
    held: threading.Event, release: threading.Event, line: str = page_loads.ON_LOADS
) -> None:
    """Take every turn of a line of the server, as page loads ahead in a storm do."""
    gate = page_loads._gate(line)
    for _ in range(settings.page_loads):
        await gate.acquire()
    held.set()
    try:
        await asyncio.to_thread(release.wait, 30)
    finally:
        for _ in range(settings.page_loads):
            gate.release()


async def _queued_tab(backend_url: str, user_id: int, line: str = page_loads.HYDRATES) -> ReflexClient:
    """A tab whose page load is sent: the hydrate of a (re)connect (its on_load handler
    runs inside it, `reflex_adapter.hydrate.load_inline`), or with `line` ON_LOADS a
    navigation inside the app after a first load (Reflex's `on_load_internal`)."""
    client = ReflexClient(backend_url, auth_token_for(user_id))
    await client.connect()
    if line == page_loads.HYDRATES:
        await client.load("/", wait=False)
    else:
        await client.load("/")
        client.hydrated = False
        await client.emit(wire.ON_LOAD_INTERNAL, {}, path="/")
    return client


def test_a_page_load_whose_socket_closed_while_it_waited_its_turn_is_dropped(backend_url):
    watcher_id, gone_id = two_contacts("plw", "plg")
    _, stays_id = two_contacts("plx", "pls")
    held, release = threading.Event(), threading.Event()

    async def open_tabs_of(user_id: int) -> int:
        return len(await runtime.presence().registry.tabs_of(user_id))

    async def scenario():
        watcher = await open_tab(backend_url, watcher_id)
        holder = asyncio.run_coroutine_threadsafe(
            _hold_every_turn(held, release, page_loads.HYDRATES), runtime.current().loop
        )
        try:
            assert await asyncio.to_thread(held.wait, 10)
            gone = await _queued_tab(backend_url, gone_id)
            stays = await _queued_tab(backend_url, stays_id)
            await asyncio.sleep(0.5)  # both page loads are waiting for a turn
            waiting = (gone.hydrated, stays.hydrated)
            await gone.disconnect()
            namespace = runtime.push().app.event_namespace
            while gone.token in dict(namespace.token_to_sid):
                await asyncio.sleep(0.02)
        finally:
            release.set()
            await asyncio.wrap_future(holder)
        await stays.wait_for(lambda: stays.hydrated)  # the turns are free again
        seen = []
        for _ in range(40):  # 2 s: past the grace of the closed socket
            seen.append(watcher.status_of(gone_id))
            await asyncio.sleep(0.05)
        tabs = on_backend(open_tabs_of(gone_id)), on_backend(open_tabs_of(stays_id))
        for client in (watcher, stays):
            await client.disconnect()
        return waiting, seen, tabs

    waiting, seen, (gone_tabs, stays_tabs) = run_async(scenario())
    assert waiting == (False, False)  # neither page had loaded while the turns were taken
    assert stays_tabs == 1  # a page load whose socket stayed ran when its turn came
    assert gone_tabs == 0, "the page load of a closed socket registered its tab"
    assert "online" not in seen, seen


@pytest.mark.parametrize("line", [page_loads.HYDRATES, page_loads.ON_LOADS])
def test_a_page_load_waiting_for_its_turn_leaves_its_tabs_state_free(backend_url, line):
    """A page load waits for its turn before Reflex takes its tab's lock
    (`reflex_adapter.turns`): meanwhile a change can be made to the tab's state (a push
    to it, Reflex's `modify_state`) at once. Fails if the page load waits inside its
    handler, holding the lock: the change then waits for the turn. Both lines: a
    (re)connect's hydrate, a navigation's on_load handler."""
    waiting_id, _ = two_contacts("plf", "plo")
    held, release = threading.Event(), threading.Event()

    async def change_state(token: str) -> float:
        began = time.monotonic()
        async with runtime.push().app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)) as root:
            (await root.get_state(AppState)).custom_open = False
        return time.monotonic() - began

    async def scenario():
        holder = asyncio.run_coroutine_threadsafe(
            _hold_every_turn(held, release, line), runtime.current().loop
        )
        try:
            assert await asyncio.to_thread(held.wait, 10)
            tab = await _queued_tab(backend_url, waiting_id, line)
            await asyncio.sleep(0.5)  # its page load waits for a turn
            assert not tab.hydrated
            changing = asyncio.run_coroutine_threadsafe(change_state(tab.token), runtime.current().loop)
            took = await asyncio.wait_for(asyncio.wrap_future(changing), 5)
        finally:
            release.set()
            await asyncio.wrap_future(holder)
        await tab.wait_for(lambda: tab.hydrated)  # it loads once its turn comes
        await tab.disconnect()
        return took

    took = run_async(scenario())
    assert took < 1.0, f"the change waited {took:.1f} s for the page load's turn"


def test_a_hydrate_waits_for_its_turn_with_its_socket_open(backend_url):
    """Reflex's hydrate of every (re)connect takes a turn (`reflex_adapter.hydrate`):
    while every turn is taken, a connecting tab's socket is open but gets no state at
    all; when a turn is free, its page loads and its user comes online for a contact.
    Fails if Reflex calls the hydrate's own function, not the wrapper."""
    watcher_id, coming_id = two_contacts("hyw", "hyc")
    held, release = threading.Event(), threading.Event()

    async def scenario():
        watcher = await open_tab(backend_url, watcher_id)
        holder = asyncio.run_coroutine_threadsafe(
            _hold_every_turn(held, release, page_loads.HYDRATES), runtime.current().loop
        )
        try:
            assert await asyncio.to_thread(held.wait, 10)
            coming = ReflexClient(backend_url, auth_token_for(coming_id))
            await coming.connect(load_path="/")  # the hydrate travels in the CONNECT packet
            await asyncio.sleep(0.5)
            waiting = (coming.sio.connected, list(coming.updates), watcher.status_of(coming_id))
        finally:
            release.set()
            await asyncio.wrap_future(holder)
        await coming.wait_for(lambda: coming.hydrated)
        await watcher.wait_for(lambda: watcher.status_of(coming_id) == "online")
        for client in (watcher, coming):
            await client.disconnect()
        return waiting

    connected, updates, seen = run_async(scenario())
    assert connected
    assert updates == [], "a hydrate ran while every turn was taken"
    assert seen != "online"
