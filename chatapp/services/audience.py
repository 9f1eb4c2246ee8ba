"""Who may see a user's presence (status, last seen, typing), message requests, blocks.

A user's presence reaches another user only when they share a conversation, neither
blocked the other, and the user's choice (`Profile.presence_audience`) allows it:

- "everyone": everyone they share a conversation with;
- "written" (the default): the members of the conversations where the user has written
  to the others (`Participant.wrote`: sent a message, started it or added people to it,
  accepted its request). A direct chat someone else started is a *message request*
  until the user writes or accepts; a group others added them to shows their presence
  to nobody there until they write;
- "nobody".

The relation is directed: Alice may see Bob while Bob does not see Alice. The presence
service asks `watchers_of` (who receives a change of this user) and `visible_to` (whose
presence this viewer's snapshot holds); both are one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from chatapp.models import Block, Conversation, Participant, Profile, User
from chatapp.services.conversations import require_member
from chatapp.services.errors import Forbidden, InvalidInput, NotFound
from chatapp.services.reads import read

AUDIENCES = ("everyone", "written", "nobody")

# Built once: making the two aliases of Participant took longer than running the query
# (a visible share of the server's time in the load benchmark's reconnect storm).
_MINE = aliased(Participant, name="mine")
_THEIRS = aliased(Participant, name="theirs")


# The reads of every presence change and page load, built once (`services.reads`).
_USER = sa.bindparam("user_id")
_BLOCKED_WITH = sa.union(
    select(Block.blocked_id).where(Block.blocker_id == _USER),
    select(Block.blocker_id).where(Block.blocked_id == _USER),
)
# Who shares a conversation with the user (`_MINE`: the user's membership).
_CONTACTS = (
    select(_THEIRS.user_id)
    .distinct()
    .join(_MINE, _MINE.conversation_id == _THEIRS.conversation_id)
    .where(_MINE.user_id == _USER, _THEIRS.user_id != _USER)
)
_WATCHERS = {"everyone": _CONTACTS, "written": _CONTACTS.where(col(_MINE.wrote).is_(True))}
_VISIBLE = _CONTACTS.join(Profile, Profile.user_id == _THEIRS.user_id).where(
    sa.or_(
        Profile.presence_audience == "everyone",
        sa.and_(Profile.presence_audience == "written", col(_THEIRS.wrote).is_(True)),
    )
)
_SHARING = select(Profile.presence_audience, Profile.share_typing, Profile.read_receipts).where(
    Profile.user_id == _USER
)


def _blocked_with(session: Session, user_id: int) -> set[int]:
    """The users in a block with `user_id`, either way (two indexed look-ups; blocks are
    few, so they are taken out in Python rather than in the contacts query)."""
    return set(read(session, _BLOCKED_WITH, user_id=user_id).scalars())


def _blockers(session: Session, a: int, b: int) -> set[int]:
    """Which of two users blocked the other (none, one or both)."""
    return set(
        session.exec(
            select(Block.blocker_id).where(
                sa.or_(
                    sa.and_(Block.blocker_id == a, Block.blocked_id == b),
                    sa.and_(Block.blocker_id == b, Block.blocked_id == a),
                )
            )
        ).all()
    )


def watchers_of(session: Session, user_id: int, audience: str | None = None) -> set[int]:
    """Who receives the user's presence (the user themself aside).

    Args:
        audience: The user's choice, if the caller has read it already.
    """
    audience = audience or sharing_of(session, user_id).audience
    if audience == "nobody":
        return set()
    found = set(read(session, _WATCHERS.get(audience, _WATCHERS["written"]), user_id=user_id).scalars())
    return found - _blocked_with(session, user_id) if found else found


def visible_to(session: Session, viewer_id: int) -> set[int]:
    """Whose presence the viewer sees (the viewer aside): the inverse of `watchers_of`."""
    found = set(read(session, _VISIBLE, user_id=viewer_id).scalars())
    return found - _blocked_with(session, viewer_id) if found else found


# Groups larger than this show nobody typing (as Zulip): a crowd's typing is noise.
TYPING_MAX_MEMBERS = 100


def typing_receivers(session: Session, *, user_id: int, conversation_id: int) -> list[int]:
    """Who is told that the user is typing in a conversation: its other members who may
    see the user's presence; nobody if the user does not share typing or the group is
    larger than `TYPING_MAX_MEMBERS`. (Whether the user appears offline is the
    presence service's to say: the caller checks it.)"""
    if not sharing_of(session, user_id).typing:
        return []
    members = set(
        session.exec(select(Participant.user_id).where(Participant.conversation_id == conversation_id)).all()
    )
    if user_id not in members or len(members) > TYPING_MAX_MEMBERS:
        return []
    return sorted(members & watchers_of(session, user_id))


def set_share_typing(session: Session, user_id: int, on: bool) -> None:
    """The "Let others see when I'm typing" choice."""
    session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(share_typing=on))
    session.commit()


@dataclass(frozen=True)
class Sharing:
    """What a user chose to share: who sees their presence, their typing, their reads."""

    audience: str = "written"
    typing: bool = True
    receipts: bool = True


def sharing_of(session: Session, user_id: int) -> Sharing:
    """A user's sharing choices, in one query."""
    row = read(session, _SHARING, user_id=user_id).first()
    if row is None:
        return Sharing()
    audience, typing, receipts = row
    return Sharing(audience if audience in AUDIENCES else "written", bool(typing), bool(receipts))


def set_audience(session: Session, user_id: int, audience: str) -> None:
    """The "Who can see my presence" choice.

    Raises:
        InvalidInput: Not one of `AUDIENCES`.
    """
    if audience not in AUDIENCES:
        msg = "Choose who can see your presence: everyone, people you wrote to, or nobody."
        raise InvalidInput(msg)
    session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(presence_audience=audience))
    session.commit()


def has_written(session: Session, *, user_id: int, conversation_id: int) -> bool:
    """Whether the member has written to the others of the conversation."""
    return bool(
        session.exec(
            select(Participant.wrote).where(
                Participant.conversation_id == conversation_id, Participant.user_id == user_id
            )
        ).first()
    )


def mark_written(session: Session, *, user_id: int, conversation_id: int, commit: bool = True) -> bool:
    """The member wrote to the others (or accepted the conversation's request).

    Args:
        commit: Commit now (False: part of the caller's transaction, e.g. a message).

    Returns:
        Whether it changed (it was the first time): their presence may now reach others.
    """
    changed = session.exec(
        sa.update(Participant)
        .where(
            Participant.conversation_id == conversation_id,
            Participant.user_id == user_id,
            col(Participant.wrote).is_(False),
        )
        .values(wrote=True)
    ).rowcount
    if commit:
        session.commit()
    return bool(changed)


@dataclass(frozen=True)
class Standing:
    """How a direct chat stands for one of its two members."""

    peer_id: int = 0
    request: bool = False  # the peer started it and this member has not written yet
    blocked: bool = False  # this member blocked the peer
    blocked_by: bool = False  # the peer blocked this member


def standing(session: Session, *, user_id: int, conversation_id: int) -> Standing:
    """The request and block state of a direct chat for a member (all False for a
    group).

    Raises:
        NotFound: Not a member.
    """
    conversation = require_member(session, user_id=user_id, conversation_id=conversation_id)
    if conversation.kind != "direct":
        return Standing()
    peer_id = session.exec(
        select(Participant.user_id).where(
            Participant.conversation_id == conversation_id, Participant.user_id != user_id
        )
    ).first()
    if peer_id is None:
        return Standing()
    pairs = _blockers(session, user_id, peer_id)
    request = conversation.created_by not in (None, user_id) and not has_written(
        session, user_id=user_id, conversation_id=conversation_id
    )
    return Standing(peer_id=peer_id, request=request, blocked=user_id in pairs, blocked_by=peer_id in pairs)


def require_can_message(session: Session, *, author_id: int, conversation: Conversation) -> None:
    """Refuse a message in a direct chat where either side blocked the other.

    Raises:
        Forbidden: A block stands between them.
    """
    if conversation.kind != "direct":
        return
    peer = session.exec(
        select(Participant.user_id).where(
            Participant.conversation_id == conversation.id, Participant.user_id != author_id
        )
    ).first()
    if peer is None:
        return
    blockers = _blockers(session, author_id, peer)
    if author_id in blockers:
        raise Forbidden("You blocked this person: unblock them to send a message.")
    if blockers:
        raise Forbidden("You can't send messages to this person.")


def block(session: Session, *, user_id: int, other_id: int) -> None:
    """Block a user (idempotent).

    Raises:
        NotFound: No such user, or the user named themself.
    """
    if type(other_id) is not int or other_id == user_id or session.get(User, other_id) is None:
        raise NotFound("No such user.")
    session.add(Block(blocker_id=user_id, blocked_id=other_id))
    try:
        session.commit()
    except IntegrityError:  # blocked already
        session.rollback()


def unblock(session: Session, *, user_id: int, other_id: int) -> None:
    """Lift a block (nothing if there was none)."""
    session.exec(sa.delete(Block).where(Block.blocker_id == user_id, Block.blocked_id == other_id))
    session.commit()
