"""Connects take turns (`chatapp.admission`, through `reflex_adapter.sockets`): many tabs
opening at once all load, and the check a connect makes after its turn (is its transport
still open?) reads python-engineio as the adapter expects."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp

from chatapp import runtime
from chatapp.admission import BURST
from chatapp.reflex_adapter import sockets
from tests.integration.support import open_tab
from tests.support import create_user, on_backend, run_async


async def _transport_open(sid: str) -> bool:
    return sockets._transport_open(runtime.push().app, sid)


def test_a_connect_knows_whether_its_transport_is_still_open(backend_url):
    url = backend_url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}"

    async def scenario():
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(url)
            assert (await ws.receive_str(timeout=5)).startswith("0")  # engine.io open
            await ws.send_str("40/_event,")
            joined = await ws.receive_str(timeout=5)
            sid = json.loads(joined.removeprefix("40/_event,"))["sid"]
            while_open = on_backend(_transport_open(sid))
            await ws.close()
            for _ in range(100):
                if not on_backend(_transport_open(sid)):
                    return while_open, False
                await asyncio.sleep(0.05)
            return while_open, True

    assert run_async(scenario()) == (True, False)


def test_many_tabs_opening_at_once_all_load_and_register(backend_url):
    """More tabs than a tick lets in at once: some wait for their turn; every one loads."""
    user_id, _ = create_user("crowd")
    count = BURST * 3

    async def tabs_of() -> int:
        return len(await runtime.presence().registry.tabs_of(user_id))

    async def scenario():
        tabs = await asyncio.wait_for(
            asyncio.gather(*(open_tab(backend_url, user_id) for _ in range(count))), 60
        )
        loaded = sum(tab.hydrated for tab in tabs)
        registered = on_backend(tabs_of())
        for tab in tabs:
            await tab.disconnect()
        return loaded, registered

    assert run_async(scenario()) == (count, count)
