"""A message is stored exactly as checked, from a raw client to the database: three spaces
and a full-length message are stored whole, one character more is refused, nothing is cut
(issue 11: such a message was stored as 3,998 characters without an error)."""

from __future__ import annotations

import json
import uuid

import reflex as rx
from sqlmodel import select

from bench.reflex_client import ReflexClient
from chatapp.models import Message
from chatapp.settings import settings
from chatapp.wire import CHAT_STATE
from tests.support import auth_token_for, create_user, direct, run_async

LIMIT = settings.message_max_length


def _bodies(cid: int) -> list[str]:
    with rx.session() as session:
        return list(session.exec(select(Message.body).where(Message.conversation_id == cid)).all())


def test_a_full_length_message_after_spaces_is_stored_whole_and_a_longer_one_refused(backend_url):
    a_id, _ = create_user("typist")
    _, b_name = create_user("reader")
    cid = direct(a_id, b_name)
    path, query = f"/c/{cid}", {"cid": str(cid)}
    refusal = f"Messages can be at most {LIMIT:,} characters."

    async def scenario():
        a = ReflexClient(backend_url, auth_token_for(a_id))
        await a.connect()
        await a.load(path, query)
        send = f"{CHAT_STATE}.send_message"
        await a.emit(send, {"body": "   " + "x" * LIMIT, "key": uuid.uuid4().hex}, path)
        await a.emit(send, {"body": "   " + "y" * (LIMIT + 1), "key": uuid.uuid4().hex}, path)
        # A tab's events run in order: the refusal of the second means the first is done.
        await a.wait_for(lambda: refusal in json.dumps(a.updates[-3:]))
        await a.disconnect()

    run_async(scenario())
    assert _bodies(cid) == ["x" * LIMIT]
