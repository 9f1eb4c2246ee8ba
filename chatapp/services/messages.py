"""Messages: validate, store, read."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Conversation, Message, Profile, utcnow
from chatapp.services.conversations import require_member
from chatapp.services.errors import InvalidInput
from chatapp.settings import settings

HISTORY_LIMIT = 200


@dataclass
class MessageView:
    """A message as the UI shows it."""

    id: int
    conversation_id: int
    author_id: int
    author_name: str
    body: str
    created_ms: int


def clean_body(body: str, *, max_length: int | None = None) -> str:
    """The message body as it will be stored, checked.

    Only leading and trailing whitespace is removed, and the limit applies to what is
    left: exactly the stored text. Nothing is ever cut: a body over the limit is refused
    (the sender's draft is kept), never shortened into something they did not write.

    Args:
        body: The text as the sender typed it.
        max_length: The limit in characters (the configured one when None).

    Returns:
        The text to store.

    Raises:
        InvalidInput: Empty, whitespace only, or longer than the limit.
    """
    limit = max_length or settings.message_max_length
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        msg = "A message cannot be empty."
        raise InvalidInput(msg)
    if len(text) > limit:
        msg = f"Messages can be at most {limit:,} characters."
        raise InvalidInput(msg)
    return text


def send(session: Session, *, author_id: int, conversation_id: int, body: str) -> MessageView:
    """Store a message from a member and bump the conversation's activity.

    Raises:
        InvalidInput: Bad body.
        NotFound: Not a member of the conversation.
    """
    text = clean_body(body)
    require_member(session, user_id=author_id, conversation_id=conversation_id)
    now = utcnow()
    message = Message(conversation_id=conversation_id, author_id=author_id, body=text, created_at=now)
    session.add(message)
    session.exec(
        sa.update(Conversation).where(Conversation.id == conversation_id).values(last_activity_at=now)
    )
    session.commit()
    session.refresh(message)
    name = session.exec(select(Profile.display_name).where(Profile.user_id == author_id)).one()
    return _view(message, name)


def history(session: Session, *, user_id: int, conversation_id: int) -> list[MessageView]:
    """The newest messages of a conversation the user is in, oldest first.

    Raises:
        NotFound: Not a member of the conversation.
    """
    require_member(session, user_id=user_id, conversation_id=conversation_id)
    rows = session.exec(
        select(Message, Profile.display_name)
        .join(Profile, Profile.user_id == Message.author_id)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.id).desc())
        .limit(HISTORY_LIMIT)
    ).all()
    return [_view(m, name) for m, name in reversed(rows)]


def _view(message: Message, author_name: str) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        author_id=message.author_id,
        author_name=author_name,
        body=message.body,
        created_ms=int(message.created_at.timestamp() * 1000),
    )
