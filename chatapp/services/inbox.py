"""A user's inbox: their conversations as the list shows them, and marking read.

A list row (`ConversationRow`) says what every member sees alike: the title (a direct
chat's is the other person's name, so a direct chat has one row per side), the last
message's preview and the conversation's message count (`seq`). A member's unread count
is `seq` minus how far they have read (`read_seq`), worked out where it is shown, so a
new message changes one row for everyone instead of one count per member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Conversation, Message, Participant, Profile
from chatapp.services.conversations import require_member
from chatapp.services.errors import NotFound
from chatapp.services.messages import newest
from chatapp.services.reads import read

PREVIEW_LENGTH = 80


def preview_text(body: str) -> str:
    """A message's text on one line, cut for the list (the full text is in the chat)."""
    return " ".join(body.split())[:PREVIEW_LENGTH]


@dataclass
class ConversationRow:
    """One row of a user's conversation list (`to_wire` is what a tab receives)."""

    id: int
    kind: str
    title: str
    peer_id: int  # the other user of a direct chat; 0 for a group
    last_activity_ms: int = 0
    seq: int = 0
    # The last message: who wrote it, what kind, its text on one line ("" if deleted).
    preview_author_id: int = 0
    preview_author: str = ""
    preview_kind: str = ""
    preview: str = ""
    preview_deleted: bool = False
    # A direct chat the other person started that the viewer has not answered: a
    # message request (`services.audience`).
    request: bool = False

    def to_wire(self) -> dict:
        """The entry a tab holds for it (`conversation_rows.<id>`): its fields, in their
        order. Every field is a plain value, so a copy of the instance's dict is the same as
        `dataclasses.asdict`, which copies each value deeply and cost a tenth of a page load
        with a list of 1,000 conversations (docs/benchmarks.md)."""
        return dict(vars(self))

    def with_last(
        self, *, author_id: int, author: str, kind: str, body: str, deleted: bool
    ) -> ConversationRow:
        """This row showing a message as its last one."""
        self.preview_author_id, self.preview_author, self.preview_kind = author_id, author, kind
        self.preview, self.preview_deleted = preview_text(body), deleted
        return self


@dataclass
class Inbox:
    """Everything the list needs: rows newest first, how far the user has read each
    conversation, and each group's member ids (for its "N online")."""

    rows: list[ConversationRow] = field(default_factory=list)
    read_seq: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    # The conversations the user muted.
    muted: list[int] = field(default_factory=list)


def _ms(dt) -> int:
    return int(dt.timestamp() * 1000)


# The list's reads, built once (`services.reads`): every page load runs them.
_USER = sa.bindparam("user_id")
_IDS = sa.bindparam("ids", expanding=True)
# Columns, not ORM entities: building a `Conversation` per row was a visible share of
# a page load (the reconnect storm's profile, docs/benchmarks.md).
_CONVERSATIONS = (
    select(
        Conversation.id,
        Conversation.kind,
        Conversation.title,
        Conversation.created_by,
        Conversation.message_seq,
        Conversation.last_activity_at,
        Participant.read_seq,
        Participant.wrote,
        Participant.muted,
    )
    .join(Participant, Participant.conversation_id == Conversation.id)
    .where(Participant.user_id == _USER)
    .order_by(col(Conversation.last_activity_at).desc(), col(Conversation.id).desc())
)
_ONE_CONVERSATION = _CONVERSATIONS.where(Conversation.id == sa.bindparam("only"))
_PEOPLE = (
    select(Participant.conversation_id, Participant.user_id, Profile.display_name)
    .join(Profile, Profile.user_id == Participant.user_id)
    .where(col(Participant.conversation_id).in_(_IDS))
)
_LAST_IDS = (
    select(sa.func.max(Message.id).label("mid"))
    .where(col(Message.conversation_id).in_(_IDS))
    .group_by(Message.conversation_id)
    .subquery()
)
_LAST_MESSAGES = (
    select(
        Message.conversation_id,
        Message.author_id,
        Message.kind,
        Message.body,
        Message.deleted_at,
        Profile.display_name,
    )
    .join(Profile, Profile.user_id == Message.author_id)
    .where(col(Message.id).in_(select(_LAST_IDS.c.mid)))
)


def inbox_of(session: Session, *, user_id: int, only: int | None = None) -> Inbox:
    """The user's conversations, most recent activity first (or only the one `only`).

    A direct chat someone else started shows only once it has a message.
    """
    if only is None:
        rows = read(session, _CONVERSATIONS, user_id=user_id).all()
    else:
        rows = read(session, _ONE_CONVERSATION, user_id=user_id, only=only).all()
    muted = sorted(c.id for c in rows if c.muted)
    found = [
        (c, c.read_seq, c.wrote)
        for c in rows
        if not (c.kind == "direct" and c.message_seq == 0 and c.created_by not in (None, user_id))
    ]
    inbox = Inbox(muted=muted)
    if not found:
        return inbox
    ids = [c.id for c, _, _ in found]
    people: dict[int, list[tuple[int, str]]] = {}
    for cid, uid, name in read(session, _PEOPLE, ids=ids):
        people.setdefault(cid, []).append((uid, name))
    last = {m.conversation_id: (m, m.display_name) for m in read(session, _LAST_MESSAGES, ids=ids)}
    for conversation, read_seq, wrote in found:
        row = row_for(conversation, user_id, people.get(conversation.id, []), wrote=wrote)
        if conversation.id in last:
            m, name = last[conversation.id]
            row.with_last(
                author_id=m.author_id, author=name, kind=m.kind, body=m.body, deleted=m.deleted_at is not None
            )
        inbox.rows.append(row)
        inbox.read_seq[conversation.id] = read_seq
        if conversation.kind == "group":
            inbox.members[conversation.id] = sorted(uid for uid, _ in people.get(conversation.id, []))
    return inbox


def row_for(
    conversation: Any, viewer_id: int, people: list[tuple[int, str]], *, wrote: bool = True
) -> ConversationRow:
    """A conversation's row as `viewer_id` sees it, without its preview.

    Args:
        conversation: A `Conversation`, or a row of its columns (`inbox_of`): id, kind,
            title, created_by, message_seq, last_activity_at.
        people: The members as (user id, display name).
        wrote: The viewer has written to the others (else a direct chat someone else
            started is a request to them).
    """
    peer_id, title = 0, conversation.title or ""
    if conversation.kind == "direct":
        others = [(uid, name) for uid, name in people if uid != viewer_id]
        peer_id, title = others[0] if others else (0, "(deleted user)")
    return ConversationRow(
        id=conversation.id,
        kind=conversation.kind,
        title=title,
        peer_id=peer_id,
        last_activity_ms=_ms(conversation.last_activity_at),
        seq=conversation.message_seq,
        request=conversation.kind == "direct"
        and conversation.created_by not in (None, viewer_id)
        and not wrote,
    )


def list_for_user(session: Session, *, user_id: int) -> list[ConversationRow]:
    """The user's list rows, most recent activity first."""
    return inbox_of(session, user_id=user_id).rows


def row_of(session: Session, *, user_id: int, conversation_id: int) -> ConversationRow:
    """The list row of one conversation the user is a member of (also a direct chat
    the other person started that has no message yet: the user opened it).

    Raises:
        NotFound: Not a member or no such conversation.
    """
    conversation = require_member(session, user_id=user_id, conversation_id=conversation_id)
    rows = inbox_of(session, user_id=user_id, only=conversation_id).rows
    if rows:
        return rows[0]
    people = _people(session, conversation_id)
    if conversation is None:  # pragma: no cover - require_member raised
        raise NotFound("This conversation does not exist or you are not a member of it.")
    wrote = {uid: w for uid, _, w in people}
    return row_for(conversation, user_id, [(u, n) for u, n, _ in people], wrote=wrote.get(user_id, True))


def _people(session: Session, conversation_id: int) -> list[tuple[int, str, bool]]:
    """A conversation's members: (user id, display name, has written)."""
    return list(
        session.exec(
            select(Participant.user_id, Profile.display_name, Participant.wrote)
            .join(Profile, Profile.user_id == Participant.user_id)
            .where(Participant.conversation_id == conversation_id)
        ).all()
    )


def mark_read(
    session: Session, *, user_ids: list[int], conversation_id: int, upto_seq: int | None = None
) -> int:
    """Record that these members have seen the conversation's messages up to number
    `upto_seq` (all of them when None), in one statement for all of them; a member who
    has read further keeps their place.

    Returns:
        The message number now read.
    """
    if upto_seq is None:
        upto_seq = session.exec(
            select(Conversation.message_seq).where(Conversation.id == conversation_id)
        ).one()
    if user_ids:
        session.exec(
            sa.update(Participant)
            .where(
                Participant.conversation_id == conversation_id,
                col(Participant.user_id).in_(user_ids),
                Participant.read_seq < upto_seq,
            )
            .values(read_seq=upto_seq)
        )
        session.commit()
    return upto_seq


def wire_rows(rows: dict[int, ConversationRow]) -> dict[int, dict[str, Any]]:
    """`rows_for_members`' rows as tabs hold them (`to_wire`), made once for every tab a
    change reaches, not once per tab."""
    return {uid: row.to_wire() for uid, row in rows.items()}


def rows_for_members(session: Session, conversation_id: int) -> dict[int, ConversationRow]:
    """A conversation's row for its members after a change, with its last message: one
    row under 0 for a group (every member sees the same), one per member of a direct
    chat (each sees the other's name). A few queries per change, whatever the number
    of members."""
    conversation = session.get(Conversation, conversation_id)
    members = _people(session, conversation_id)
    people = [(uid, name) for uid, name, _ in members]
    wrote = {uid: w for uid, _, w in members}
    viewers = [uid for uid, _ in people] if conversation.kind == "direct" else [0]
    rows = {
        viewer: row_for(conversation, viewer, people, wrote=wrote.get(viewer, True)) for viewer in viewers
    }
    last = newest(session, conversation_id)
    if last is not None:
        for row in rows.values():
            row.with_last(
                author_id=last.author_id,
                author=last.author_name,
                kind=last.kind,
                body=last.body,
                deleted=last.deleted,
            )
    return rows
