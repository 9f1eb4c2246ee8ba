"""Reading: how far each member has read (their unread counts), what the others may know
of it (read receipts), and which conversations a member muted.

Two positions per member (`Participant`):

- `read_seq`, how far the member has *seen* (marked only while the conversation is
  open in a visible, active tab: the state layer decides when), drives their own unread
  counts in every tab;
- `receipt_seq` / `receipt_at`, what the other members are told: it moves with a read
  only when the reader sends read receipts (`Profile.read_receipts`) and the state layer
  says the read may be revealed (not while the reader appears offline). A read that was
  not revealed stays unrevealed: the receipt jumps only with a later, revealed read.

Receipts are mutual, as in WhatsApp: a user who sends none sees none.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Participant, Profile
from chatapp.services.conversations import require_member
from chatapp.services.inbox import mark_read as _mark_seen


@dataclass(frozen=True)
class Receipt:
    """What the other members may know of how far one member has read."""

    user_id: int
    seq: int
    at_ms: int

    def to_wire(self) -> dict[str, int]:
        """The entry a tab holds for it (`seen_map.<user id>`)."""
        return {"user_id": self.user_id, "seq": self.seq, "at_ms": self.at_ms}


def _ms(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1000) if moment else 0


def mark_read(
    session: Session,
    *,
    user_ids: Collection[int],
    conversation_id: int,
    upto_seq: int,
    revealed: Collection[int],
    now: datetime,
) -> list[Receipt]:
    """Record that these members have seen the conversation up to message `upto_seq`.

    Args:
        revealed: Those of them whose read may be shown to others now (the state layer
            leaves out users who appear offline); of them, those who send receipts and
            had not been known to read this far get a new receipt.

    Returns:
        The new receipts, for the other members (see `receipt_audience`).
    """
    _mark_seen(session, user_ids=list(user_ids), conversation_id=conversation_id, upto_seq=upto_seq)
    readers = [u for u in revealed if u in set(user_ids)]
    if not readers:
        return []
    moving = list(
        session.exec(
            select(Participant.user_id)
            .join(Profile, Profile.user_id == Participant.user_id)
            .where(
                Participant.conversation_id == conversation_id,
                col(Participant.user_id).in_(readers),
                Participant.receipt_seq < upto_seq,
                col(Profile.read_receipts).is_(True),
            )
        ).all()
    )
    if not moving:
        return []
    session.exec(
        sa.update(Participant)
        .where(
            Participant.conversation_id == conversation_id,
            col(Participant.user_id).in_(moving),
            Participant.receipt_seq < upto_seq,
        )
        .values(receipt_seq=upto_seq, receipt_at=now)
    )
    session.commit()
    return [Receipt(user_id=u, seq=upto_seq, at_ms=_ms(now)) for u in sorted(moving)]


def receipt_audience(session: Session, conversation_id: int) -> list[int]:
    """The members who see receipts in a conversation (those who send them)."""
    return list(
        session.exec(
            select(Participant.user_id)
            .join(Profile, Profile.user_id == Participant.user_id)
            .where(Participant.conversation_id == conversation_id, col(Profile.read_receipts).is_(True))
        ).all()
    )


def receipts_for(session: Session, *, viewer_id: int, conversation_id: int) -> dict[int, Receipt]:
    """The receipts `viewer_id` sees in a conversation: the other members' who send
    receipts and have read something; none at all if the viewer sends none."""
    if not sends_receipts(session, viewer_id):
        return {}
    rows = session.exec(
        select(Participant.user_id, Participant.receipt_seq, Participant.receipt_at)
        .join(Profile, Profile.user_id == Participant.user_id)
        .where(
            Participant.conversation_id == conversation_id,
            Participant.user_id != viewer_id,
            Participant.receipt_seq > 0,
            col(Profile.read_receipts).is_(True),
        )
    ).all()
    return {u: Receipt(user_id=u, seq=s, at_ms=_ms(at)) for u, s, at in rows}


def sends_receipts(session: Session, user_id: int) -> bool:
    """Whether the user sends (and so sees) read receipts."""
    return bool(session.exec(select(Profile.read_receipts).where(Profile.user_id == user_id)).first())


def set_read_receipts(session: Session, user_id: int, on: bool) -> None:
    """The "Send read receipts" choice."""
    session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(read_receipts=on))
    session.commit()


def set_muted(session: Session, *, user_id: int, conversation_id: int, muted: bool) -> None:
    """Mute or unmute a conversation for one member.

    Raises:
        NotFound: Not a member.
    """
    require_member(session, user_id=user_id, conversation_id=conversation_id)
    session.exec(
        sa.update(Participant)
        .where(Participant.conversation_id == conversation_id, Participant.user_id == user_id)
        .values(muted=muted)
    )
    session.commit()


def muted_ids(session: Session, user_id: int) -> list[int]:
    """The conversations the user muted."""
    return sorted(
        session.exec(
            select(Participant.conversation_id).where(
                Participant.user_id == user_id, col(Participant.muted).is_(True)
            )
        ).all()
    )
