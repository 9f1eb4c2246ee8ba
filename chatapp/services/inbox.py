"""A user's inbox: their conversations as the list shows them, newest activity first,
with the last message's preview and the unread count; and marking read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Conversation, Message, Participant, Profile
from chatapp.services.conversations import require_member
from chatapp.services.errors import NotFound

PREVIEW_LENGTH = 80


def preview_of(author: str, body: str) -> str:
    """The one-line preview of a message in the list: "Author: text", cut short."""
    return f"{author}: {' '.join(body.split())}"[:PREVIEW_LENGTH]


@dataclass
class ConversationSummary:
    """One row of a user's conversation list."""

    id: int
    kind: str
    title: str
    peer_id: int  # the other user of a direct chat; 0 for a group
    member_ids: list[int] = field(default_factory=list)
    preview: str = ""
    last_activity_ms: int = 0
    unread: int = 0


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def list_for_user(session: Session, *, user_id: int) -> list[ConversationSummary]:
    """The user's conversations, most recent activity first, with preview and unread count."""
    rows = session.exec(
        select(Conversation, Participant.last_read_message_id)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Participant.user_id == user_id)
        .order_by(col(Conversation.last_activity_at).desc(), col(Conversation.id).desc())
    ).all()
    if not rows:
        return []
    ids = [c.id for c, _ in rows]
    roster: dict[int, list[tuple[int, str]]] = {}
    for cid, uid, name in session.exec(
        select(Participant.conversation_id, Participant.user_id, Profile.display_name)
        .join(Profile, Profile.user_id == Participant.user_id)
        .where(col(Participant.conversation_id).in_(ids))
    ).all():
        roster.setdefault(cid, []).append((uid, name))
    last_ids = (
        select(sa.func.max(Message.id).label("mid"))
        .where(col(Message.conversation_id).in_(ids))
        .group_by(Message.conversation_id)
        .subquery()
    )
    previews = {
        cid: (body, name)
        for cid, body, name in session.exec(
            select(Message.conversation_id, Message.body, Profile.display_name)
            .join(Profile, Profile.user_id == Message.author_id)
            .where(col(Message.id).in_(select(last_ids.c.mid)))
        ).all()
    }
    unread_q = (
        select(Message.conversation_id, sa.func.count())
        .join(
            Participant,
            (Participant.conversation_id == Message.conversation_id) & (Participant.user_id == user_id),
        )
        .where(Message.id > Participant.last_read_message_id, Message.author_id != user_id)
        .group_by(Message.conversation_id)
    )
    unread = dict(session.exec(unread_q).all())
    out = []
    for conversation, _ in rows:
        people = roster.get(conversation.id, [])
        peer_id, title = 0, conversation.title or ""
        if conversation.kind == "direct":
            others = [(uid, name) for uid, name in people if uid != user_id]
            peer_id, title = others[0] if others else (0, "(deleted user)")
        preview = ""
        if conversation.id in previews:
            body, author = previews[conversation.id]
            preview = preview_of(author, body)
        out.append(
            ConversationSummary(
                id=conversation.id,
                kind=conversation.kind,
                title=title,
                peer_id=peer_id,
                member_ids=sorted(uid for uid, _ in people),
                preview=preview,
                last_activity_ms=_ms(conversation.last_activity_at),
                unread=unread.get(conversation.id, 0),
            )
        )
    return out


def mark_read(session: Session, *, user_id: int, conversation_id: int) -> None:
    """Record that the user has seen every message of the conversation so far."""
    newest = session.exec(
        select(sa.func.max(Message.id)).where(Message.conversation_id == conversation_id)
    ).one()
    session.exec(
        sa.update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id)
        .values(last_read_message_id=newest or 0)
    )
    session.commit()


def row_of(session: Session, *, user_id: int, conversation_id: int) -> ConversationSummary:
    """The list row of one conversation the user is a member of.

    Raises:
        NotFound: Not a member or no such conversation.
    """
    require_member(session, user_id=user_id, conversation_id=conversation_id)
    for row in list_for_user(session, user_id=user_id):
        if row.id == conversation_id:
            return row
    raise NotFound("This conversation does not exist or you are not a member of it.")
