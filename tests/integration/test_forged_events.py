"""Events forged by a raw client: the server decides who the caller is, never the payload."""

from __future__ import annotations

import json

import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp.models import Message
from chatapp.wire import CHAT_STATE
from tests.support import auth_token_for, create_user, direct, run_async


def _messages_in(cid: int) -> int:
    with rx.session() as session:
        return session.exec(sa.select(sa.func.count()).where(Message.conversation_id == cid)).one()[0]


def test_a_foreign_conversation_by_url_or_forged_event_shows_nothing_and_stores_nothing(backend_url):
    a_id, _ = create_user("owner")
    _, b_name = create_user("peer")
    x_id, _ = create_user("intruder")
    cid = direct(a_id, b_name)

    async def scenario():
        owner = ReflexClient(backend_url, auth_token_for(a_id))
        await owner.connect()
        await owner.load(f"/c/{cid}", {"cid": str(cid)})
        await owner.emit(f"{CHAT_STATE}.send_message", {"form_data": {"body": "secret plans"}}, f"/c/{cid}")
        await owner.wait_for(lambda: "secret plans" in json.dumps(owner.updates[-1]))

        intruder = ReflexClient(backend_url, auth_token_for(x_id))
        await intruder.connect()
        await intruder.load(f"/c/{cid}", {"cid": str(cid)})
        # Forged: a send into the conversation, and a user id in the payload.
        await intruder.emit(
            f"{CHAT_STATE}.send_message",
            {"form_data": {"body": "let me in", "user_id": a_id, "conversation_id": cid}},
            f"/c/{cid}",
        )
        await intruder.emit(
            f"{CHAT_STATE}.add_members", {"form_data": {"usernames": "intruder"}}, f"/c/{cid}"
        )
        await intruder.load("/")  # a round trip: the forged events were processed before it
        for c in (owner, intruder):
            await c.disconnect()
        return intruder.updates

    updates = run_async(scenario())
    wire = json.dumps(updates)
    assert "secret plans" not in wire
    assert "not a member" in wire  # the intruder was told, in words
    assert _messages_in(cid) == 1
