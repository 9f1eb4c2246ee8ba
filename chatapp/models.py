"""Every database table of the app, as plain SQLModel classes.

`User` is an account (bcrypt hash), `LoginSession` one login of it (the digest of its
token), `Profile` what a chat needs of an account. The first two keep the tables and
columns of reflex-local-auth, which the app used before it owned its one door in.
Timestamps are timezone-aware UTC on every database, SQLite included.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Column, DateTime, Field, SQLModel, String, func

__all__ = [
    "Conversation",
    "LoginSession",
    "Message",
    "Participant",
    "Profile",
    "UTCDateTime",
    "User",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (a factory: never a class-level value)."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite keeps no zone, so without this a value written aware comes back naive.
    """

    impl = sa.DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc_column(*, nullable: bool, index: bool = False) -> sa.Column:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class User(SQLModel, table=True):
    """An account: a unique lower-case username and a bcrypt hash of its password.

    Created only with its `Profile`, by `services.accounts.sign_up`, and the database
    holds it to that: each references the other, the user's reference checked when the
    transaction commits (so the two can be inserted one after the other), and neither
    can be committed alone.
    """

    __tablename__ = "localuser"

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey(
                "profile.user_id",
                name="fk_localuser_profile",
                deferrable=True,
                initially="DEFERRED",
                use_alter=True,  # the two tables reference each other
            ),
            primary_key=True,
            autoincrement=True,  # a reference would otherwise turn the generated id off
        ),
    )
    username: str = Field(unique=True, nullable=False, index=True, sa_type=String(255))
    password_hash: bytes = Field(nullable=False)
    enabled: bool = False


class LoginSession(SQLModel, table=True):
    """One login of a user (a browser that logged in), until it expires or logs out.

    `session_id` is the SHA-256 digest of the login's token, never the token: the token
    lives only in the browser, so a copy of the database logs nobody in.
    """

    __tablename__ = "localauthsession"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(index=True, nullable=False)
    session_id: str = Field(unique=True, index=True, nullable=False, sa_type=String(255))
    expiration: datetime = Field(
        sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


class Profile(SQLModel, table=True):
    """The chat side of an account: its display name and presence facts.

    `last_seen_at` records a fact (when the user's last tab went away), never a status:
    the status is derived from the live sessions, so a stale row can't show a ghost.
    """

    user_id: int = Field(primary_key=True, foreign_key="localuser.id")
    display_name: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    last_seen_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The status the user chose ("away"), or None for automatic. Kept here so the
    # choice holds across tabs, devices and restarts until they change it.
    chosen_status: str | None = Field(default=None, max_length=16)
    # When a chosen status ends by itself ("do not disturb for an hour"); None: never.
    chosen_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The user hides their last-seen time from everyone (and then sees no one's).
    hide_last_seen: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Who sees the user's presence: "everyone" they share a conversation with, only the
    # people they have "written" to (the default), or "nobody".
    presence_audience: str = Field(
        default="written", max_length=8, sa_column_kwargs={"server_default": "written"}
    )
    # A custom status ("🌴 On holiday"), shown beside the name to whoever sees the user's
    # presence, until `custom_until` (None: until cleared). Both empty: none.
    custom_emoji: str | None = Field(default=None, max_length=32)
    custom_text: str | None = Field(default=None, max_length=100)
    custom_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # Others (who may see the user's presence) see when the user is typing.
    share_typing: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # The user sends read receipts (and so sees others'): mutual, as in WhatsApp.
    read_receipts: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class Conversation(SQLModel, table=True):
    """A direct chat between two users or a titled group.

    `direct_key` ("<low id>:<high id>") is unique, so two users can only ever have one
    direct conversation, even when both start it at the same moment.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # "direct" or "group"
    title: str | None = Field(default=None, max_length=80)
    direct_key: str | None = Field(default=None, max_length=40, unique=True)
    # Who started it: a direct chat shows in the other person's list only once it has a
    # message (opening a chat with someone must not put an empty one in their list).
    created_by: int | None = Field(default=None, foreign_key="localuser.id")
    # How many messages people wrote in it (system lines not counted): each message gets
    # the next number, and a member's unread count is this minus their `read_seq`, which
    # lets one list row serve every member.
    message_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    last_activity_at: datetime = Field(
        default_factory=utcnow, sa_column=_utc_column(nullable=False, index=True)
    )


class Participant(SQLModel, table=True):
    """One user's membership of one conversation (unique, indexed both ways).

    The (user_id, conversation_id) index answers "my conversations" and, joined with
    the (conversation_id, user_id) unique index, "who shares a conversation with me"
    in one query, however many conversations the user is in.
    """

    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "user_id", name="uq_participant_conversation_user"),
        sa.Index("ix_participant_user_conversation", "user_id", "conversation_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    user_id: int = Field(foreign_key="localuser.id")
    joined_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    # The newest message this member has seen, by id and by `Message.seq`; unread =
    # `Conversation.message_seq - read_seq` (a member's own message counts as read).
    last_read_message_id: int = Field(default=0)
    read_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # How far the others may know this member has read, and when they read it: moves
    # with `read_seq` only while the member sends read receipts and does not appear
    # offline (a read made then is never revealed, not even later).
    receipt_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    receipt_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # The member has written to the others here: sent a message, started the
    # conversation or added people to it, or accepted its request. Under "Only people I
    # have written to" their presence reaches this conversation's members only then. A
    # member added by someone else (or the other side of a direct chat) starts without.
    wrote: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # The member muted the conversation: no notifications from it, a muted row.
    muted: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Block(SQLModel, table=True):
    """One user blocked another: the blocked user can't message them (in a direct
    chat) or see their presence, and they don't see the blocked user's."""

    __table_args__ = (sa.UniqueConstraint("blocker_id", "blocked_id", name="uq_block_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    blocker_id: int = Field(foreign_key="localuser.id", index=True)
    blocked_id: int = Field(foreign_key="localuser.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))


class Message(SQLModel, table=True):
    """A message posted by a member into a conversation, or a system line about one.

    A "system" message records a membership change ("left", "added Bob Builder",
    "created the group"): its author is who did it, its body the rest of the sentence.
    `client_key` is the sender's idempotency key: unique per author, so a message sent
    twice (Enter pressed twice, a retry after a reconnect) is stored once.
    """

    __table_args__ = (
        sa.Index("ix_message_conversation_id_id", "conversation_id", "id"),
        sa.UniqueConstraint("author_id", "client_key", name="uq_message_author_client_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    author_id: int = Field(foreign_key="localuser.id")
    body: str
    created_at: datetime = Field(default_factory=utcnow, sa_column=_utc_column(nullable=False))
    kind: str = Field(default="text", max_length=8, sa_column_kwargs={"server_default": "text"})
    # The conversation's message number (`Conversation.message_seq`); None for system lines.
    seq: int | None = Field(default=None)
    client_key: str | None = Field(default=None, max_length=64)
    edited_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    # A deleted message keeps its row (and place) with an empty body: "Message deleted".
    deleted_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
