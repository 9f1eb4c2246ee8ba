"""A production instance whose event loop runs behind refuses new sockets until it has
caught up (`chatapp.loop_lag`, wired in `chatapp.wiring`), says so in its log, and takes
them again afterwards. The worker is held up for real: stopped by a signal, as a loop
buried under a storm's backlog is held up, and continued."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import socketio

from bench.app_server import AppServer
from bench.reflex_client import ReflexClient
from tests.support import run_async


def test_a_worker_that_fell_behind_refuses_new_sockets_then_takes_them_once_caught_up():
    with AppServer() as server:
        worker = server.worker_pid

        async def scenario():
            held_up = ReflexClient(server.backend_url)
            os.kill(worker, signal.SIGSTOP)
            try:
                connecting = asyncio.create_task(held_up.connect(wait_timeout=10))
                await asyncio.sleep(2.5)  # the worker's loop falls 2.5 s behind
            finally:
                os.kill(worker, signal.SIGCONT)
            with pytest.raises(socketio.exceptions.ConnectionError, match="failed to connect"):
                await connecting
            await asyncio.sleep(2.0)  # caught up (a late wake-up counts for 1 s)
            later = ReflexClient(server.backend_url)
            await later.connect()
            taken = later.sio.connected
            await later.disconnect()
            return taken

        assert run_async(scenario()) is True
        log = server.log_path.read_text()
    assert "s behind: refusing new sockets until it catches up" in log
    assert "event loop caught up: refused 1 new sockets" in log
