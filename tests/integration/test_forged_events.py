"""Events forged by a raw client: the server decides who the caller is, never the payload."""

from __future__ import annotations

import json
import uuid

import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp import wire
from chatapp.models import Message
from chatapp.wire import SEND_MESSAGE
from tests.support import auth_token_for, create_user, direct, run_async

GROUPS_STATE = wire.GROUPS_STATE


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
        await owner.emit(SEND_MESSAGE, {"body": "secret plans", "key": uuid.uuid4().hex}, f"/c/{cid}")
        await owner.wait_for(lambda: "secret plans" in json.dumps(owner.updates[-1]))

        intruder = ReflexClient(backend_url, auth_token_for(x_id))
        await intruder.connect()
        await intruder.load(f"/c/{cid}", {"cid": str(cid)})
        # Forged: a send into the conversation, the same with a user id and the
        # conversation in the payload, and an addition of the intruder to it.
        await intruder.emit(SEND_MESSAGE, {"body": "let me in", "key": uuid.uuid4().hex}, f"/c/{cid}")
        await intruder.emit(
            SEND_MESSAGE,
            {"body": "let me in", "key": uuid.uuid4().hex, "user_id": a_id, "conversation_id": cid},
            f"/c/{cid}",
        )
        await intruder.emit(f"{GROUPS_STATE}.add_members", {}, f"/c/{cid}")
        await intruder.load("/")  # a round trip: the forged events were processed before it
        for c in (owner, intruder):
            await c.disconnect()
        return intruder.updates

    updates = run_async(scenario())
    wire = json.dumps(updates)
    assert "secret plans" not in wire
    assert "not a member" in wire  # the intruder was told, in words
    assert _messages_in(cid) == 1
