"""The benchmark's tabs give up a connect whose transport closed before the server took
the socket, as the frontend does, instead of waiting out the whole wait (a real
python-socketio server on a real websocket, whose connect handler never answers)."""

from __future__ import annotations

import asyncio
import time

import pytest
import socketio
from aiohttp import web

from bench.app_server import free_port
from bench.reflex_client import FailsWhenTransportCloses
from tests.support import run_async


async def _attempt(client_class: type[socketio.AsyncClient]) -> tuple[float, str]:
    """Connect to a server that holds the connect, then closes the transport; how long
    the client's connect took to fail, and how."""
    server = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    server.attach(app)
    release = asyncio.Event()
    closing: list[asyncio.Task] = []

    async def close_transport_soon(eio_sid: str) -> None:
        await asyncio.sleep(0.5)
        await server.eio.disconnect(eio_sid)

    @server.on("connect", namespace="/_event")
    async def connect(sid, environ, auth=None):
        eio_sid = server.manager.eio_sid_from_sid(sid, "/_event")
        closing.append(asyncio.create_task(close_transport_soon(eio_sid)))
        await release.wait()  # never answers in time
        return False

    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    client = client_class(reconnection=False)
    start = time.perf_counter()
    try:
        with pytest.raises(socketio.exceptions.ConnectionError) as failed:
            await client.connect(
                f"http://127.0.0.1:{port}", namespaces=["/_event"], transports=["websocket"], wait_timeout=8
            )
        return time.perf_counter() - start, str(failed.value)
    finally:
        release.set()
        await client.disconnect()
        await runner.cleanup()


def test_a_connect_whose_transport_closes_fails_at_once():
    took, why = run_async(_attempt(FailsWhenTransportCloses))
    assert took < 4.0
    assert "failed to connect" in why


def test_python_socketios_own_client_waits_out_the_wait():
    """The premise: without the change, the same attempt fails only at its timeout."""
    took, why = run_async(_attempt(socketio.AsyncClient))
    assert took >= 7.5
    assert "Unexpected connection error" in why
