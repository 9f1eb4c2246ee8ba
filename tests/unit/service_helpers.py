"""Constants and helpers shared by the tests of the services in `chatapp/services/`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from chatapp.models import Conversation, Message, utcnow
from chatapp.services import inbox

PASSWORD = "correct horse battery"  # what the make_user fixture signs up with
NOT_A_MEMBER = "This conversation does not exist or you are not a member of it."


def count_rows(session, model) -> int:
    """How many rows the table of `model` holds."""
    return session.exec(select(sa.func.count()).select_from(model)).one()


def insert_messages(session, conversation_id: int, author_id: int, count: int) -> list[int]:
    """Store `count` text messages at once ("m0", "m1", ...), numbered after the
    conversation's last one as `messages.send` numbers them; their ids, oldest first."""
    conversation = session.get(Conversation, conversation_id)
    first, now = conversation.message_seq, utcnow()
    if count <= 0:
        return []
    session.execute(
        sa.insert(Message),
        [
            {
                "conversation_id": conversation_id,
                "author_id": author_id,
                "body": f"m{i}",
                "created_at": now,
                "seq": first + i + 1,
            }
            for i in range(count)
        ],
    )
    conversation.message_seq = first + count
    session.add(conversation)
    session.commit()
    return list(
        session.exec(
            select(Message.id)
            .where(Message.conversation_id == conversation_id, Message.seq > first)
            .order_by(Message.id)
        ).all()
    )


def unread(session, user_id: int, conversation_id: int) -> int:
    """The unread count the user's list shows for the conversation: its message number
    minus how far the user has read."""
    box = inbox.inbox_of(session, user_id=user_id, only=conversation_id)
    (row,) = box.rows
    return row.seq - box.read_seq[conversation_id]
