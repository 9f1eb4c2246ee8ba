"""Caps on what one client can hold open: sockets per address on an instance, tabs per
user. Each runs its own production instance with small caps (the settings are read at
start)."""

from __future__ import annotations

import pytest
import socketio

from bench.app_server import AppServer
from bench.reflex_client import ReflexClient
from chatapp.wire import APP_STATE
from tests.scaleout.support import People
from tests.support import run_async


def test_one_address_gets_at_most_its_sockets_and_a_closed_one_frees_a_place():
    with AppServer(env={"CHATAPP_MAX_SOCKETS_PER_ADDRESS": "3"}) as server:

        async def scenario():
            tabs = [ReflexClient(server.backend_url) for _ in range(3)]
            for tab in tabs:
                await tab.connect()
            extra = ReflexClient(server.backend_url)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await extra.connect()
            await tabs[0].disconnect()
            again = ReflexClient(server.backend_url)
            await again.connect()  # the closed socket's place is free again
            connected = again.sio.connected
            for tab in (*tabs[1:], again):
                await tab.disconnect()
            return connected

        assert run_async(scenario()) is True


def test_a_user_gets_at_most_their_tabs_and_the_next_one_stays_empty():
    with AppServer(env={"CHATAPP_MAX_TABS_PER_USER": "2"}) as server:
        people = People(server.db_url)
        a_id, _ = people.user("capa")
        b_id, b_name = people.user("capb")
        people.direct(a_id, b_name)

        async def scenario():
            tabs = [ReflexClient(server.backend_url, people.login(a_id)) for _ in range(3)]
            for tab in tabs:
                await tab.connect()
                await tab.load("/")
            flags = [tab.latest(APP_STATE, "tabs_full") for tab in tabs]
            held = [tab.status_of(b_id) for tab in tabs]
            await tabs[0].disconnect()
            await tabs[2].load("/")  # a place is free once a tab has closed
            flags.append(tabs[2].latest(APP_STATE, "tabs_full"))
            for tab in tabs[1:]:
                await tab.disconnect()
            return flags, held

        flags, held = run_async(scenario())
    assert flags[:3] == [False, False, True]
    assert held[2] is None  # the third tab got no presence at all
    assert flags[3] is False
