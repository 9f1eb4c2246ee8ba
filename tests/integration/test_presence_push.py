"""The fast path of a presence change (chatapp.reflex_adapter.tabs.push) against the real app:
the tab's server-side state stays in step with what its browser was sent, and a tab that
is busy in an event handler still gets the change, once the handler is done."""

from __future__ import annotations

import asyncio

import reflex as rx

from chatapp import runtime
from chatapp.reflex_adapter import tabs
from chatapp.states.app_state import AppState, presence_change
from tests.integration.support import open_tab, two_contacts, watching
from tests.support import create_user, direct, presence_key, run_async


def _server_state(token: str) -> AppState:
    """The tab's AppState as the server holds it (memory state manager, one process)."""
    root = runtime.push().app.state_manager.states[token]
    return root.get_substate(AppState.get_full_name().split("."))


def _held(token: str, user_id: int) -> tuple[dict | None, dict | None]:
    """(the entry in the tab's presence_map, the entry recorded as sent to its browser)."""
    state = _server_state(token)
    key = str(user_id)
    return state.get_value("presence_map").get(key), state.get_value("_presence_sent").get(key)


def test_a_pushed_change_is_in_the_tabs_server_state_and_is_not_sent_again(backend_url):
    a_id, _ = create_user("pa")
    b_id, b_name = create_user("pb")
    c_id, _ = create_user("pc")
    direct(a_id, b_name)
    direct(c_id, b_name)
    app = runtime.push().app

    async def scenario():
        b = await open_tab(backend_url, b_id)
        a = await open_tab(backend_url, a_id)
        c = await open_tab(backend_url, c_id)
        await b.wait_for(lambda: b.status_of(a_id) == "online" and b.status_of(c_id) == "online")
        await a.set_status("away")
        await b.wait_for(lambda: b.status_of(a_id) == "away")
        held = _held(b.token, a_id)
        # A change through Reflex's own path marks B's presence_map dirty: its delta is
        # a diff against what B's browser holds, which must already include A's entry.
        mark = len(b.raw_frames)
        entry = {**b.presence[str(c_id)], "status": "dnd", "v": b.presence[str(c_id)]["v"] + 1}
        await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                tabs.deliver(app, [b.token], AppState, lambda s: s._presence_changed(entry)),
                runtime.current().loop,
            )
        )
        await b.wait_for(lambda: b.status_of(c_id) == "dnd")
        await asyncio.sleep(0.3)
        frames = b.raw_frames[mark:]
        for x in (a, b, c):
            await x.disconnect()
        return held, frames

    (in_map, in_sent), frames = run_async(scenario())
    assert in_map is not None and in_map["status"] == "away"
    assert in_sent == in_map
    assert any(presence_key(c_id) in str(f) for f in frames)
    assert not any(presence_key(a_id) in str(f) for f in frames), frames


def test_a_tab_busy_in_a_handler_gets_the_change_when_the_handler_ends(backend_url):
    a_id, b_id = two_contacts("ba", "bb")
    app = runtime.push().app

    async def hold_b(token: str) -> None:
        """Keep B's state locked, as a long event handler of B's does."""
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)):
            await asyncio.sleep(1.0)

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        holder = asyncio.run_coroutine_threadsafe(hold_b(b.token), runtime.current().loop)
        await asyncio.sleep(0.2)
        await a.set_status("away")
        await asyncio.sleep(0.4)
        while_locked = b.status_of(a_id)
        await asyncio.wrap_future(holder)
        await b.wait_for(lambda: b.status_of(a_id) == "away")
        held = _held(b.token, a_id)
        for x in (a, b):
            await x.disconnect()
        return while_locked, held

    while_locked, (in_map, in_sent) = run_async(scenario())
    assert while_locked == "online"  # it waited for B's handler: nothing changed under it
    assert in_map is not None and in_map["status"] == "away"
    assert in_sent == in_map


def test_the_fast_path_finds_a_tabs_socket_in_reflexs_own_records(backend_url):
    user_id, _ = create_user("sock")
    namespace = runtime.push().app.event_namespace

    async def scenario():
        tab = await open_tab(backend_url, user_id)
        found = tabs._sid_lookup(namespace)(tab.token), dict(namespace.token_to_sid).get(tab.token)
        await tab.disconnect()
        return found

    direct_read, public = run_async(scenario())
    # Reflex's internals this relies on (pinned version): if they move, the lookup falls
    # back to the slow public mapping and this test says so.
    assert isinstance(getattr(namespace._token_manager, "token_to_socket", None), dict)
    assert direct_read is not None and direct_read == public


def test_a_tab_whose_socket_is_gone_is_changed_in_place_without_a_state_modification(backend_url, caplog):
    a_id, b_id = two_contacts("da", "db")
    app = runtime.push().app

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        entry = {**b.presence[str(a_id)], "status": "away", "v": b.presence[str(a_id)]["v"] + 1}
        await b.disconnect()  # Reflex forgets its socket at once; its state stays
        while dict(app.event_namespace.token_to_sid).get(b.token):
            await asyncio.sleep(0.02)
        updated = await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(
                tabs.send(app, [b.token], presence_change(entry)),
                runtime.current().loop,
            )
        )
        await a.disconnect()
        return updated, b.token

    with caplog.at_level("WARNING", logger="reflex.app"):
        updated, token = run_async(scenario())
    in_map, _ = _held(token, a_id)
    assert updated == 1
    assert in_map is not None and in_map["status"] == "away"
    # Reflex's own path would have modified the state and warned that the tab is gone.
    assert not any("disconnected client" in r.getMessage() for r in caplog.records)
