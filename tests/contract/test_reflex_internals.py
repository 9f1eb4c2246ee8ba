"""Every Reflex internal the adapter relies on is there, as the adapter expects it; and
without one, the app takes the public path or refuses to start, never the unsafe way.

On a Reflex upgrade, a failure here names the attribute or signature that changed (see
README, "Upgrading Reflex")."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
import reflex as rx

from chatapp.chatapp import app
from chatapp.reflex_adapter import internals, sockets, tabs
from chatapp.states.app_state import AppState
from tests.support import run_async


@pytest.mark.parametrize("internal", internals.INTERNALS, ids=lambda i: i.name.split(" ")[0])
def test_the_pinned_reflex_has_every_internal_the_adapter_uses(internal):
    assert internal.present(app), (
        f"Reflex {rx.constants.Reflex.VERSION} changed {internal.name}, which "
        f"{internal.needed_by} needs (without it: {internal.if_missing})"
    )


def test_the_app_starts_on_the_pinned_reflex_with_its_fast_path(caplog):
    with caplog.at_level(logging.WARNING, logger="chatapp"):
        internals.check_at_startup(app)
    assert internals.fast_path(app)
    assert internals.forget_early(app)
    assert not [r for r in caplog.records if "Reflex internal missing" in r.getMessage()]


def test_a_missing_socket_internal_stops_the_start_with_its_name(monkeypatch):
    monkeypatch.delattr(type(app.event_namespace), "_build_static_router_data")
    with pytest.raises(internals.ReflexChanged, match="_build_static_router_data") as refused:
        internals.check_at_startup(app)
    assert "Upgrading Reflex" in str(refused.value)


def test_a_missing_lock_table_turns_the_fast_path_off_and_changes_wait_for_the_tab(monkeypatch, caplog):
    """If Reflex renamed `_states_locks`, a tab a handler holds would look unlocked: the
    fast path must be off, and every change must wait for the tab's lock (Reflex's own
    `modify_state`). Simulated by the adapter's check finding the entry missing (deleting
    the attribute would break Reflex itself)."""
    token = "contract-tab-1"
    in_place: list[str] = []
    gone = [i for i in internals.INTERNALS if "StateManagerMemory.states, _states_locks" in i.name]
    assert len(gone) == 1
    changed = tuple(
        dataclasses.replace(i, present=lambda _app: False) if i in gone else i for i in internals.INTERNALS
    )
    monkeypatch.setattr(internals, "INTERNALS", changed)

    async def scenario():
        with caplog.at_level(logging.WARNING, logger="chatapp"):
            internals.check_at_startup(app)
        held, release = asyncio.Event(), asyncio.Event()

        async def handler_holds_the_tab() -> None:
            async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)):
                held.set()
                await release.wait()

        holder = asyncio.create_task(handler_holds_the_tab())
        await held.wait()
        change = tabs.TabChange(
            AppState,
            apply=lambda state: setattr(state, "chosen_status", "away"),
            in_place=lambda state: in_place.append(token) or True,
            delta={AppState.get_full_name(): {"chosen_status": "away"}},
        )
        sending = asyncio.create_task(tabs.send(app, [token], change))
        await asyncio.sleep(0.2)
        waited = not sending.done()
        release.set()
        await holder
        sent = await sending
        root = await app.state_manager.get_state(rx.BaseStateToken(ident=token, cls=AppState))
        return internals.fast_path(app), waited, sent, (await root.get_state(AppState)).chosen_status

    try:
        fast, waited, sent, status = run_async(scenario())
    finally:
        monkeypatch.undo()
        internals.check_at_startup(app)
    assert fast is False
    assert waited  # it waited for the handler, as it must
    assert in_place == []  # never changed in place
    assert sent == 1 and status == "away"
    assert any("_states_locks" in r.getMessage() and "public path" in r.getMessage() for r in caplog.records)


def test_the_socket_hooks_call_reflex_with_the_arguments_its_handlers_take():
    """python-socketio passes (sid, environ, auth) or (sid, environ) to a connect handler,
    (sid, reason) or (sid) to a disconnect handler; Reflex's handlers take what their
    signature says (0.10.1: connect with auth, disconnect without reason; newer sources:
    connect without auth)."""
    calls = []

    async def two_argument_connect(sid, environ):
        calls.append(("connect", sid, environ))

    def one_argument_disconnect(sid):
        calls.append(("disconnect", sid))

    async def with_auth(sid, environ, auth=None):
        calls.append(("connect+auth", sid, auth))

    async def scenario():
        await sockets.takes_what_it_can(two_argument_connect)("s1", {"e": 1}, {"token": "x"})
        sockets.takes_what_it_can(one_argument_disconnect)("s1", "client disconnect")
        await sockets.takes_what_it_can(with_auth)("s2", {}, {"token": "y"})

    run_async(scenario())
    assert calls == [
        ("connect", "s1", {"e": 1}),
        ("disconnect", "s1"),
        ("connect+auth", "s2", {"token": "y"}),
    ]


def _manager_after(indexed: bool) -> dict:
    """python-socketio's manager after sockets connect, enter and leave rooms, and close
    (with and without `sockets.index_rooms`): its tables, for comparing."""
    import socketio

    sio = socketio.AsyncServer(async_mode="asgi")
    manager = sio.manager
    if indexed:
        sockets.index_rooms(manager)
    ns = "/_event"

    async def scenario() -> list:
        sids = [await manager.pre_connect(f"eio{i}", ns) for i in range(6)]
        for sid in sids[:5]:
            await manager.connect(sid, ns)  # the sixth stays pending
        await manager.enter_room(sids[0], ns, "team")
        await manager.enter_room(sids[1], ns, "team")
        await manager.enter_room(sids[2], ns, "other")
        await manager.leave_room(sids[1], ns, "team")
        manager.callbacks[sids[0]] = {1: lambda: None}
        manager.pre_disconnect(sids[3], ns)
        for sid in (sids[0], sids[2], sids[3], sids[5]):
            await manager.disconnect(sid, ns)
        return sids

    sids = run_async(scenario())
    names = {sid: f"s{i}" for i, sid in enumerate(sids)}
    tables = manager.rooms[ns].items()
    rooms = {names.get(room, room): sorted(names[s] for s in held) for room, held in tables}
    return {
        "rooms": rooms,
        "callbacks": sorted(names[s] for s in manager.callbacks),
        "pending": (dict(manager.pending_connect), dict(manager.pending_disconnect)),
    }


def test_the_room_index_leaves_socketio_as_its_own_disconnect_does():
    assert _manager_after(indexed=True) == _manager_after(indexed=False)
    assert _manager_after(indexed=True)["rooms"] == {None: ["s1", "s4"], "s1": ["s1"], "s4": ["s4"]}


def test_a_closing_socket_no_longer_scans_every_room():
    import socketio

    manager = socketio.AsyncServer(async_mode="asgi").manager
    sockets.index_rooms(manager)
    ns = "/_event"
    sids = run_async(_pre_connect(manager, ns, 3))
    scanned = []

    class Watched(dict):
        def copy(self):
            scanned.append(True)
            return super().copy()

        def items(self):
            scanned.append(True)
            return super().items()

    manager.rooms[ns] = Watched(manager.rooms[ns])
    run_async(manager.disconnect(sids[0], ns))
    assert scanned == []
    assert sids[0] not in manager.rooms[ns] and sids[0] not in manager.rooms[ns][None]


async def _pre_connect(manager, ns: str, n: int) -> list:
    return [await manager.pre_connect(f"eio{i}", ns) for i in range(n)]
