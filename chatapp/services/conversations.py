"""Conversations and their membership: create, join, list, check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chatapp.models import Conversation, Message, Participant, Profile, User, utcnow
from chatapp.services.accounts import find_user_ids, normalize_username
from chatapp.services.errors import Forbidden, InvalidInput, NotFound

TITLE_MAX = 80
GROUP_MAX_MEMBERS = 256


@dataclass
class Member:
    """A member of a conversation as the UI shows them."""

    user_id: int
    username: str
    display_name: str


def direct_key(a: int, b: int) -> str:
    """The unique key of the direct conversation between two users."""
    low, high = sorted((a, b))
    return f"{low}:{high}"


def require_member(session: Session, *, user_id: int, conversation_id: int) -> Conversation:
    """Return the conversation if the user is one of its members.

    Raises:
        NotFound: The conversation does not exist, or the user is not in it. One
            answer for both, so that ids of other people's conversations leak nothing.
    """
    row = session.exec(
        select(Conversation)
        .join(Participant, Participant.conversation_id == Conversation.id)
        .where(Conversation.id == conversation_id, Participant.user_id == user_id)
    ).first()
    if row is None:
        msg = "This conversation does not exist or you are not a member of it."
        raise NotFound(msg)
    return row


def _add_participants(session: Session, conversation_id: int, user_ids: list[int], *, by: int) -> None:
    """Add members; `by` (the one who starts or adds) has written to them, the others
    have not yet (see `audience`)."""
    for uid in user_ids:
        session.add(Participant(conversation_id=conversation_id, user_id=uid, wrote=uid == by))


def _reach_out(session: Session, conversation_id: int, user_id: int) -> None:
    """The member wrote to the others (opened the chat, added people): see `audience`."""
    session.exec(
        sa.update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id)
        .values(wrote=True)
    )


def _system_line(
    session: Session, conversation_id: int, actor_id: int, text: str, now: datetime | None = None
) -> None:
    """A line of the conversation about a membership change: "<actor> <text>"."""
    session.add(
        Message(
            conversation_id=conversation_id,
            author_id=actor_id,
            body=text,
            kind="system",
            created_at=now or utcnow(),
        )
    )


def _names(session: Session, user_ids: list[int]) -> str:
    rows = session.exec(select(Profile.display_name).where(col(Profile.user_id).in_(user_ids))).all()
    return ", ".join(sorted(rows))


def open_direct(
    session: Session, *, user_id: int, other_username: str | None = None, other_id: int | None = None
) -> tuple[int, bool]:
    """Open the direct conversation with another user (by username or id), creating it
    the first time. It shows in the other person's list once it has a message.

    Returns:
        The conversation id, and whether it was created now.

    Raises:
        NotFound: No such user.
        InvalidInput: The user named themself.
    """
    if other_id is not None:
        # bool is an int to Python: True would open a second chat with user 1 ("True:<id>").
        if type(other_id) is not int or session.get(User, other_id) is None:
            raise NotFound("No such user.")
        peer = other_id
    else:
        if not normalize_username(other_username or ""):
            msg = "Name the user to chat with."
            raise InvalidInput(msg)
        (peer,) = find_user_ids(session, [other_username or ""]).values()
    if peer == user_id:
        msg = "You cannot start a direct conversation with yourself."
        raise InvalidInput(msg)
    key = direct_key(user_id, peer)
    existing = session.exec(select(Conversation.id).where(Conversation.direct_key == key)).first()
    if existing is not None:
        # Opening it yourself is reaching out (it answers a request the same way).
        _reach_out(session, existing, user_id)
        session.commit()
        return existing, False
    conversation = Conversation(kind="direct", direct_key=key, created_by=user_id)
    session.add(conversation)
    try:
        session.flush()
    except IntegrityError:  # both users opened it at once: use the one that won
        session.rollback()
        return session.exec(select(Conversation.id).where(Conversation.direct_key == key)).one(), False
    _add_participants(session, conversation.id, [user_id, peer], by=user_id)
    session.commit()
    return conversation.id, True


def create_group(
    session: Session,
    *,
    user_id: int,
    title: str,
    member_usernames: list[str] = (),
    member_ids: list[int] = (),
    now: datetime | None = None,
) -> int:
    """Create a group with a title; the creator is a member (`now`: when, for seeding
    demo history).

    Raises:
        InvalidInput: Empty or too long title, too many members.
        NotFound: A username does not exist.
    """
    shown = " ".join(title.split())
    if not shown:
        msg = "A group needs a title."
        raise InvalidInput(msg)
    if len(shown) > TITLE_MAX:
        msg = f"A group title is at most {TITLE_MAX} characters."
        raise InvalidInput(msg)
    ids = (
        set(find_user_ids(session, list(member_usernames)).values())
        | _existing(session, member_ids)
        | {user_id}
    )
    if len(ids) > GROUP_MAX_MEMBERS:
        msg = f"A group has at most {GROUP_MAX_MEMBERS} members."
        raise InvalidInput(msg)
    when = now or utcnow()
    conversation = Conversation(
        kind="group", title=shown, created_by=user_id, created_at=when, last_activity_at=when
    )
    session.add(conversation)
    session.flush()
    _add_participants(session, conversation.id, sorted(ids), by=user_id)
    _system_line(session, conversation.id, user_id, "created the group", when)
    session.commit()
    return conversation.id


def _existing(session: Session, user_ids: list[int]) -> set[int]:
    """These user ids, checked to exist.

    Raises:
        NotFound: One does not.
    """
    wanted = {i for i in user_ids if isinstance(i, int)}
    if len(wanted) != len(set(user_ids)):
        raise NotFound("No such user.")
    if not wanted:
        return set()
    found = set(session.exec(select(User.id).where(col(User.id).in_(wanted))).all())
    if found != wanted:
        raise NotFound("No such user.")
    return found


def add_members(
    session: Session,
    *,
    user_id: int,
    conversation_id: int,
    usernames: list[str] = (),
    user_ids: list[int] = (),
) -> list[int]:
    """Add users to a group the caller is a member of.

    Returns:
        The ids of the users who were added (members already in are skipped).

    Raises:
        NotFound: Not a member, or a username does not exist.
        Forbidden: The conversation is a direct chat.
    """
    conversation = require_member(session, user_id=user_id, conversation_id=conversation_id)
    if conversation.kind != "group":
        msg = "Members can only be added to a group."
        raise Forbidden(msg)
    wanted = set(find_user_ids(session, list(usernames)).values()) | _existing(session, list(user_ids))
    present = set(member_ids(session, conversation_id))
    new = sorted(wanted - present)
    if len(present) + len(new) > GROUP_MAX_MEMBERS:
        msg = f"A group has at most {GROUP_MAX_MEMBERS} members."
        raise InvalidInput(msg)
    _add_participants(session, conversation_id, new, by=user_id)
    if new:
        _reach_out(session, conversation_id, user_id)
        _system_line(session, conversation_id, user_id, f"added {_names(session, new)}")
    session.commit()
    return new


def leave(session: Session, *, user_id: int, conversation_id: int) -> None:
    """Leave a group.

    Raises:
        NotFound: Not a member.
        Forbidden: A direct chat cannot be left.
    """
    conversation = require_member(session, user_id=user_id, conversation_id=conversation_id)
    if conversation.kind != "group":
        msg = "A direct conversation cannot be left."
        raise Forbidden(msg)
    session.exec(
        sa.delete(Participant).where(
            Participant.conversation_id == conversation_id, Participant.user_id == user_id
        )
    )
    _system_line(session, conversation_id, user_id, "left")
    session.commit()


def member_ids(session: Session, conversation_id: int) -> list[int]:
    """The ids of a conversation's members."""
    return list(
        session.exec(select(Participant.user_id).where(Participant.conversation_id == conversation_id)).all()
    )


def members(session: Session, conversation_id: int) -> list[Member]:
    """A conversation's members, by display name."""
    rows = session.exec(
        select(User.id, User.username, Profile.display_name)
        .join(Participant, Participant.user_id == User.id)
        .join(Profile, Profile.user_id == User.id)
        .where(Participant.conversation_id == conversation_id)
        .order_by(Profile.display_name)
    ).all()
    return [Member(user_id=i, username=u, display_name=d) for i, u, d in rows]


def co_members(session: Session, user_id: int) -> list[int]:
    """Everyone who shares a conversation with the user (whom a change of the user's
    choices may concern: receipts, who sees their presence)."""
    mine = select(Participant.conversation_id).where(Participant.user_id == user_id)
    return list(
        session.exec(
            select(Participant.user_id)
            .where(col(Participant.conversation_id).in_(mine), Participant.user_id != user_id)
            .distinct()
        ).all()
    )
