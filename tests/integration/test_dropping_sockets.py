"""`sockets.drop_all` (a Redis outage) closes each tab's websocket from the server, at
once: the frontend ignores engine.io's close packet and would notice a socket left open
only at its ping timeout (REFLEX_SOCKET_INTERVAL + REFLEX_SOCKET_TIMEOUT, 10 s), showing
nothing and sending events into a server that cannot run them meanwhile."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp

from chatapp import runtime
from chatapp.reflex_adapter import sockets
from tests.support import run_async

# Well under the ping interval: only a close by the server itself is this quick.
AT_ONCE = 2.0


def test_dropping_every_socket_closes_each_websocket_from_the_server_at_once(backend_url):
    url = backend_url.replace("http", "ws", 1) + f"/_event/?EIO=4&transport=websocket&token={uuid.uuid4()}"

    async def scenario():
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            opened = await ws.receive_str(timeout=5)
            assert opened.startswith("0"), opened  # engine.io open
            await ws.send_str("40/_event,")  # the namespace
            joined = await ws.receive_str(timeout=5)
            assert joined.startswith("40/_event,"), joined
            dropped_at = time.monotonic()
            dropped = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(
                    sockets.drop_all(runtime.current().push.app), runtime.current().loop
                )
            )
            frames = []
            while True:  # the client sends nothing: whatever ends this is the server's
                message = await ws.receive(timeout=AT_ONCE * 2)
                frames.append(message.type)
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return dropped, time.monotonic() - dropped_at, frames

    dropped, took, frames = run_async(scenario())
    assert dropped >= 1
    assert took < AT_ONCE, (took, frames)
