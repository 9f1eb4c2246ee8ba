"""Helpers for the raw-client message tests: sending, reading what a tab received frame
by frame (its keyed entries, its size on the wire), and seeding long histories and long
conversation lists straight into the database."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp import wire
from chatapp.models import Conversation, Message, Participant, Profile, User, utcnow

# GroupsState is a substate of ChatState (chatapp/states/groups.py); chatapp.wire does
# not name it yet.
GROUPS_STATE = wire.GROUPS_STATE
MESSAGE_PREFIX = wire.keyed_prefix(wire.MESSAGE_MAP)
ROW_PREFIX = wire.keyed_prefix(wire.CONVERSATION_ROWS)
READ_PREFIX = wire.keyed_prefix(wire.READ_SEQ)


def new_key() -> str:
    """An idempotency key as the browser makes one (32 of [0-9a-f])."""
    return uuid.uuid4().hex


async def send(tab: ReflexClient, cid: int, body: str, key: str | None = None) -> str:
    """Send a message from a tab that has conversation `cid` open; returns its key."""
    key = key or new_key()
    await tab.emit(wire.SEND_MESSAGE, {"body": body, "key": key}, f"/c/{cid}")
    return key


async def call(tab: ReflexClient, handler: str, payload: dict | None = None, path: str = "/") -> None:
    """An event of ChatState (`handler` alone) or of another state (a full name)."""
    name = handler if "." in handler else f"{wire.CHAT_STATE}.{handler}"
    await tab.emit(name, payload or {}, path)


def parse(frame: str | bytes) -> dict | None:
    """The update a raw socket.io frame carries (None for any other packet)."""
    if not isinstance(frame, str) or "[" not in frame:
        return None
    body = json.loads(frame[frame.index("[") :])
    return body[1] if body and body[0] == "event" and len(body) > 1 else None


def chat_delta(update: dict | None, state: str = wire.CHAT_STATE) -> dict[str, Any]:
    """What an update changed in a state of the tab (ChatState unless told)."""
    return ((update or {}).get("delta") or {}).get(state) or {}


def entries(update: dict | None, prefix: str) -> dict[str, Any]:
    """The keyed entries an update carries for one keyed dict, by key ("42")."""
    return {k[len(prefix) :]: v for k, v in chat_delta(update).items() if k.startswith(prefix)}


def frames_since(tab: ReflexClient, mark: int) -> list[tuple[int, dict]]:
    """The updates a tab received since `mark` (an index into `raw_frames`), each with its
    size on the wire in bytes."""
    out = []
    for frame in tab.raw_frames[mark:]:
        update = parse(frame)
        if update is not None:
            out.append((len(frame.encode()), update))
    return out


def frames_with(tab: ReflexClient, mark: int, prefix: str, key: object) -> list[tuple[int, dict]]:
    """The updates since `mark` that carry one keyed entry (`prefix` + `key`), with their
    sizes on the wire."""
    return [(size, u) for size, u in frames_since(tab, mark) if str(key) in entries(u, prefix)]


def held(tab: ReflexClient, prefix: str, key: object) -> Any:
    """The latest value a tab received for one keyed entry (None: never, or removed)."""
    value = None
    for update in tab.updates:
        value = entries(update, prefix).get(str(key), value)
    return value


def caught_up(tab: ReflexClient, cid: int) -> bool:
    """Whether the tab holds conversation `cid` read up to its last message."""
    return held(tab, READ_PREFIX, cid) == (held(tab, ROW_PREFIX, cid) or {}).get("seq")


def latest(tab: ReflexClient, var: str, state: str = wire.CHAT_STATE) -> Any:
    """The latest value a tab received for a plain var of a state (None: never)."""
    for update in reversed(tab.updates):
        sub = chat_delta(update, state)
        if f"{var}_rx_state_" in sub:
            return sub[f"{var}_rx_state_"]
    return None


def count_messages(cid: int, **where: Any) -> int:
    """How many messages conversation `cid` holds (with these column values)."""
    with rx.session() as session:
        query = sa.select(sa.func.count()).select_from(Message).where(Message.conversation_id == cid)
        for column, value in where.items():
            query = query.where(getattr(Message, column) == value)
        return session.exec(query).one()[0]


def read_seq_of(user_id: int, cid: int) -> int:
    with rx.session() as session:
        query = sa.select(Participant.read_seq).where(
            Participant.user_id == user_id, Participant.conversation_id == cid
        )
        return session.exec(query).one()[0]


def _next_id(session, column) -> int:
    return (session.exec(sa.select(sa.func.max(column))).one()[0] or 0) + 1


def seed_history(cid: int, author_ids: list[int], count: int, body: str = "history message {:05d}") -> None:
    """`count` messages in conversation `cid`, numbered on from its last, by the authors
    in turn, every member having read them all (one bulk insert)."""
    now = utcnow()
    with rx.session() as session:
        start = session.exec(sa.select(Conversation.message_seq).where(Conversation.id == cid)).one()[0]
        first = now - timedelta(seconds=count)
        session.execute(
            sa.insert(Message),
            [
                {
                    "conversation_id": cid,
                    "author_id": author_ids[i % len(author_ids)],
                    "body": body.format(i),
                    "created_at": first + timedelta(seconds=i),
                    "kind": "text",
                    "seq": start + i + 1,
                    "client_key": None,
                    "edited_at": None,
                    "deleted_at": None,
                }
                for i in range(count)
            ],
        )
        session.execute(
            sa.update(Conversation)
            .where(Conversation.id == cid)
            .values(message_seq=start + count, last_activity_at=now)
        )
        session.execute(
            sa.update(Participant).where(Participant.conversation_id == cid).values(read_seq=start + count)
        )
        session.commit()


def seed_contacts(user_id: int, count: int) -> list[int]:
    """`count` new users, each in a direct conversation with `user_id` that has one
    message (read), so each shows as a row of the user's list; their ids."""
    now = utcnow() - timedelta(days=1)  # older than anything a test sends
    with rx.session() as session:
        first_user = _next_id(session, User.id)
        ids = list(range(first_user, first_user + count))
        session.execute(
            sa.insert(User),
            [{"id": i, "username": f"wide{i}", "password_hash": b"!", "enabled": True} for i in ids],
        )
        session.execute(
            sa.insert(Profile),
            [
                {
                    "user_id": i,
                    "display_name": f"Contact {i}",
                    "created_at": now,
                    "last_seen_at": None,
                    "chosen_status": None,
                    "chosen_until": None,
                    "hide_last_seen": False,
                }
                for i in ids
            ],
        )
        first = _next_id(session, Conversation.id)
        cids = list(range(first, first + count))
        pairs = list(zip(cids, ids, strict=True))
        session.execute(
            sa.insert(Conversation),
            [
                {
                    "id": c,
                    "kind": "direct",
                    "title": None,
                    "direct_key": f"{min(user_id, i)}:{max(user_id, i)}",
                    "created_by": i,
                    "message_seq": 1,
                    "created_at": now,
                    "last_activity_at": now,
                }
                for c, i in pairs
            ],
        )
        session.execute(
            sa.insert(Participant),
            [
                {
                    "conversation_id": c,
                    "user_id": u,
                    "joined_at": now,
                    "last_read_message_id": 0,
                    "read_seq": 1,
                }
                for c, i in pairs
                for u in (user_id, i)
            ],
        )
        session.execute(
            sa.insert(Message),
            [
                {
                    "conversation_id": c,
                    "author_id": i,
                    "body": f"hello from contact {i}",
                    "created_at": now,
                    "kind": "text",
                    "seq": 1,
                    "client_key": None,
                    "edited_at": None,
                    "deleted_at": None,
                }
                for c, i in pairs
            ],
        )
        session.commit()
    return ids
