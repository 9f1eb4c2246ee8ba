"""Abuse limits against the running app: a flooding client is cut off, others are not."""

from __future__ import annotations

import asyncio
import json
import uuid

import reflex as rx
import sqlalchemy as sa

from chatapp.models import Message
from chatapp.services import limits
from chatapp.wire import CHAT_STATE
from tests.integration.support import open_tab, two_contacts, watching
from tests.support import create_user, direct, presence_key, run_async


def _count(cid: int, author: int) -> int:
    with rx.session() as session:
        q = sa.select(sa.func.count()).where(Message.conversation_id == cid, Message.author_id == author)
        return session.exec(q).one()[0]


def test_a_message_flood_is_cut_at_the_limit_and_the_other_user_is_unaffected(backend_url):
    a_id, _ = create_user("flood")
    b_id, b_name = create_user("calm")
    cid = direct(a_id, b_name)
    path, query = f"/c/{cid}", {"cid": str(cid)}
    burst = limits.MESSAGES.amount + 5

    async def scenario():
        a = await open_tab(backend_url, a_id, path, query)
        b = await open_tab(backend_url, b_id, path, query)
        for i in range(burst):
            await a.emit(f"{CHAT_STATE}.send_message", {"body": f"spam {i}", "key": uuid.uuid4().hex}, path)
        await b.emit(f"{CHAT_STATE}.send_message", {"body": "still here", "key": uuid.uuid4().hex}, path)
        await b.wait_for(lambda: "still here" in json.dumps(b.updates[-3:]))
        await a.load(path, query)  # a round trip after the burst
        for c in (a, b):
            await c.disconnect()
        return json.dumps(a.updates)

    wire = run_async(scenario())
    assert _count(cid, a_id) == limits.MESSAGES.amount
    assert _count(cid, b_id) == 1
    assert "Too many messages. Try again in" in wire


def test_a_presence_flood_reaches_peers_only_up_to_the_limit(backend_url):
    a_id, b_id = two_contacts("flap", "watch")
    toggles = limits.STATUS_CHANGES.amount + 10

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        mark = len(b.updates)
        for i in range(toggles):
            await a.set_status("away" if i % 2 == 0 else "auto")
        await a.load()
        await asyncio.sleep(0.5)
        changes = [u for u in b.updates[mark:] if presence_key(a_id) in json.dumps(u)]
        for c in (a, b):
            await c.disconnect()
        return len(changes), json.dumps(a.updates)

    changes, wire = run_async(scenario())
    assert 0 < changes <= limits.STATUS_CHANGES.amount
    assert "Too many status changes" in wire
