"""A SIGKILL of the single instance right after a user came online leaves them a last seen
(the moment they connected), not NULL: it is written when the first tab connects, not only
by the periodic flush (every 30 s) and on shutdown, neither of which a SIGKILL lets run.

A production instance of its own (one process, presence in memory), a raw client as the
user's tab, and the database read after the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import sqlalchemy as sa
from sqlmodel import Session

from bench.app_server import AppServer
from bench.reflex_client import ReflexClient
from chatapp.models import Profile, utcnow
from tests.deploy.support import create_pair
from tests.support import run_async


def _last_seen(db_url: str, user_id: int):
    engine = sa.create_engine(db_url)
    try:
        with Session(engine) as session:
            return session.get(Profile, user_id).last_seen_at
    finally:
        engine.dispose()


def test_a_sigkill_right_after_coming_online_leaves_the_connect_time_as_last_seen():
    users = {}
    server = AppServer(
        env={"REFLEX_REDIS_URL": None, "CHATAPP_LAST_SEEN_FLUSH": "3600"},  # no flush could help
        before_start=lambda db_url: users.update(pair=create_pair(db_url)),
        ready_timeout=120,
    )
    with server:
        alice, _ = users["pair"]
        before = utcnow()

        def kill() -> None:
            os.killpg(server.process.pid, signal.SIGKILL)  # the whole instance: no shutdown
            server.process.wait()

        async def online_then_killed() -> None:
            tab = ReflexClient(server.backend_url, alice.auth_token)
            await tab.connect()
            await tab.load("/")
            await tab.wait_for(lambda: tab.status_of(alice.id) == "online")
            await asyncio.to_thread(kill)
            with contextlib.suppress(Exception):
                await tab.disconnect()

        run_async(online_then_killed())
        last_seen = _last_seen(server.db_url, alice.id)
        killed = utcnow()

    assert last_seen is not None
    assert before <= last_seen <= killed
