"""Messages: validate, store once, page through, edit, delete; system lines.

A message is stored once however often it is sent: the sender's browser gives every
message an idempotency key (`client_key`), unique per author, so Enter pressed twice or
a send retried after a reconnect finds the message already there. Text messages are
numbered per conversation (`Message.seq`), which makes unread counts a subtraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chatapp.models import Conversation, Message, Participant, Profile, utcnow
from chatapp.services import audience
from chatapp.services.conversations import require_member
from chatapp.services.errors import Forbidden, InvalidInput, NotFound
from chatapp.settings import settings

PAGE_SIZE = 50
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
TEXT, SYSTEM = "text", "system"


@dataclass
class MessageView:
    """A message as the UI shows it (`to_wire` is what a tab receives)."""

    id: int
    conversation_id: int
    author_id: int
    author_name: str
    body: str
    created_ms: int
    edited_ms: int = 0
    deleted: bool = False
    kind: str = TEXT
    seq: int = 0
    client_key: str = ""
    # Set by `send` when the key was used before: nothing new was stored.
    repeat: bool = False
    # Set by `send` when it is the author's first words to the others of the conversation
    # (`audience.mark_written`): their presence may reach them from now on.
    first_words: bool = False

    def to_wire(self) -> dict:
        """The entry a tab holds for it (`message_map.<id>`). Every field is a plain value:
        a copy of the instance's dict (see `inbox.ConversationRow.to_wire`)."""
        out = dict(vars(self))
        del out["repeat"], out["first_words"]
        return out


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


def clean_key(key: object) -> str:
    """An idempotency key as the browser makes them (8-64 of A-Z a-z 0-9 _ -).

    Raises:
        InvalidInput: Anything else.
    """
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        msg = "This message could not be sent (a malformed key): reload the page and try again."
        raise InvalidInput(msg)
    return key


def send(
    session: Session,
    *,
    author_id: int,
    conversation_id: int,
    body: str,
    client_key: str | None = None,
    now: datetime | None = None,
) -> MessageView:
    """Store a message from a member once, number it and bump the conversation.

    The author has read everything up to their own message.

    Args:
        client_key: The sender's idempotency key (None: no repeat check).

    Returns:
        The message; with `repeat` set if the key was used before (then nothing is
        stored and the earlier message is returned).

    Raises:
        InvalidInput: Bad body or key.
        NotFound: Not a member of the conversation.
    """
    text = clean_body(body)
    key = clean_key(client_key) if client_key is not None else None
    if key is not None and (earlier := _by_key(session, author_id, key)) is not None:
        return earlier
    conversation = require_member(session, user_id=author_id, conversation_id=conversation_id)
    audience.require_can_message(session, author_id=author_id, conversation=conversation)
    when = now or utcnow()
    seq = session.exec(
        sa.update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(message_seq=Conversation.message_seq + 1, last_activity_at=when)
        .returning(Conversation.message_seq)
    ).scalar_one()
    message = Message(
        conversation_id=conversation_id,
        author_id=author_id,
        body=text,
        created_at=when,
        seq=seq,
        client_key=key,
    )
    session.add(message)
    try:
        session.flush()
    except IntegrityError:  # the same key from a parallel request: that one stored it
        session.rollback()
        earlier = _by_key(session, author_id, key or "")
        if earlier is None:
            raise
        return earlier
    first_words = audience.mark_written(
        session, user_id=author_id, conversation_id=conversation_id, commit=False
    )
    session.exec(
        sa.update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == author_id)
        .values(read_seq=seq, last_read_message_id=message.id)
    )
    session.commit()
    session.refresh(message)
    view = _view(message, _name(session, author_id))
    view.first_words = first_words
    return view


def _by_key(session: Session, author_id: int, key: str) -> MessageView | None:
    message = session.exec(
        select(Message).where(Message.author_id == author_id, Message.client_key == key)
    ).first()
    if message is None:
        return None
    view = _view(message, _name(session, author_id))
    view.repeat = True
    return view


def _name(session: Session, user_id: int) -> str:
    return session.exec(select(Profile.display_name).where(Profile.user_id == user_id)).one()


def page(
    session: Session,
    *,
    user_id: int,
    conversation_id: int,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[MessageView], bool]:
    """A page of a conversation's messages, oldest first: the newest ones, or those
    before `before_id`. One indexed range read, whatever the conversation's length.

    Returns:
        The messages, and whether there are older ones.

    Raises:
        NotFound: Not a member of the conversation.
    """
    require_member(session, user_id=user_id, conversation_id=conversation_id)
    query = (
        select(Message, Profile.display_name)
        .join(Profile, Profile.user_id == Message.author_id)
        .where(Message.conversation_id == conversation_id)
    )
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = session.exec(query.order_by(col(Message.id).desc()).limit(limit + 1)).all()
    return [_view(m, name) for m, name in reversed(rows[:limit])], len(rows) > limit


def history(session: Session, *, user_id: int, conversation_id: int) -> list[MessageView]:
    """The newest page of a conversation's messages, oldest first.

    Raises:
        NotFound: Not a member of the conversation.
    """
    return page(session, user_id=user_id, conversation_id=conversation_id)[0]


def _own(session: Session, *, user_id: int, message_id: int) -> Message:
    """A text message of the user, still there, in a conversation they are in.

    Raises:
        NotFound: No such message in the user's conversations.
        Forbidden: Someone else's message, a system line, or a deleted one.
    """
    message = session.get(Message, message_id) if isinstance(message_id, int) else None
    if message is None:
        raise NotFound("This message does not exist.")
    require_member(session, user_id=user_id, conversation_id=message.conversation_id)
    if message.author_id != user_id or message.kind != TEXT:
        raise Forbidden("You can only change your own messages.")
    if message.deleted_at is not None:
        raise Forbidden("This message was deleted.")
    return message


def edit(
    session: Session, *, user_id: int, message_id: int, body: str, now: datetime | None = None
) -> MessageView:
    """Replace the text of the user's own message (marked edited).

    Raises:
        InvalidInput: Bad body. NotFound, Forbidden: see `_own`.
    """
    text = clean_body(body)
    message = _own(session, user_id=user_id, message_id=message_id)
    if message.body != text:
        message.body = text
        message.edited_at = now or utcnow()
        session.add(message)
        session.commit()
        session.refresh(message)
    return _view(message, _name(session, user_id))


def delete(session: Session, *, user_id: int, message_id: int, now: datetime | None = None) -> MessageView:
    """Delete the user's own message: its text is gone, a "Message deleted" line stays.

    Raises:
        NotFound, Forbidden: see `_own`.
    """
    message = _own(session, user_id=user_id, message_id=message_id)
    message.body = ""
    message.deleted_at = now or utcnow()
    session.add(message)
    session.commit()
    session.refresh(message)
    return _view(message, _name(session, user_id))


def views_of(session: Session, message_ids: list[int]) -> list[MessageView]:
    """Messages by id, oldest first (system lines written by `conversations`)."""
    if not message_ids:
        return []
    rows = session.exec(
        select(Message, Profile.display_name)
        .join(Profile, Profile.user_id == Message.author_id)
        .where(col(Message.id).in_(message_ids))
        .order_by(col(Message.id))
    ).all()
    return [_view(m, name) for m, name in rows]


def newest(session: Session, conversation_id: int) -> MessageView | None:
    """The newest message of a conversation (for a caller that has checked who asks,
    e.g. the line a membership change just wrote)."""
    row = session.exec(
        select(Message, Profile.display_name)
        .join(Profile, Profile.user_id == Message.author_id)
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.id).desc())
        .limit(1)
    ).first()
    return _view(*row) if row else None


def _ms(dt: datetime | None) -> int:
    return int(dt.timestamp() * 1000) if dt is not None else 0


def _view(message: Message, author_name: str) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        author_id=message.author_id,
        author_name=author_name,
        body=message.body,
        created_ms=_ms(message.created_at),
        edited_ms=_ms(message.edited_at),
        deleted=message.deleted_at is not None,
        kind=message.kind,
        seq=message.seq or 0,
        client_key=message.client_key or "",
    )
