"""The persisted facts of presence: last seen and the chosen status, in `Profile`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Profile, User
from chatapp.services.reads import read


@dataclass(frozen=True)
class PersonFacts:
    """What the database knows about a user's presence."""

    user_id: int
    username: str
    display_name: str
    last_seen_at: datetime | None
    chosen_status: str | None
    chosen_until: datetime | None
    hide_last_seen: bool
    presence_audience: str = "written"


# The statements that run with every presence change, built once: an `in_()` built per
# call leaves a reference cycle of ~10 objects (its expanding parameter) for the
# garbage collector, and building costs more than SQLite's part of the query.
_IDS = sa.bindparam("ids", expanding=True)
_LOAD = (
    select(
        User.id,
        User.username,
        Profile.display_name,
        Profile.last_seen_at,
        Profile.chosen_status,
        Profile.chosen_until,
        Profile.hide_last_seen,
        Profile.presence_audience,
    )
    .join(Profile, Profile.user_id == User.id)
    .where(col(User.id).in_(_IDS))
)
_AT = sa.bindparam("at", type_=Profile.__table__.c.last_seen_at.type)
_SAVE_LAST_SEEN = (
    sa.update(Profile)
    .where(
        col(Profile.user_id).in_(_IDS),
        sa.or_(col(Profile.last_seen_at).is_(None), col(Profile.last_seen_at) < _AT),
    )
    .values(last_seen_at=_AT)
)
_HIDING = select(Profile.user_id).where(col(Profile.user_id).in_(_IDS), col(Profile.hide_last_seen))


def load(session: Session, user_ids: Iterable[int]) -> dict[int, PersonFacts]:
    """The facts of these users, in one query."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = read(session, _LOAD, ids=ids)
    return {row[0]: PersonFacts(*row) for row in rows}


def save_last_seen(session: Session, user_ids: Iterable[int], at: datetime) -> None:
    """Record that these users were last seen at `at` (never moving it backwards)."""
    ids = list(user_ids)
    if not ids:
        return
    # Past the ORM: its UPDATE would first look for these users' objects in the session
    # to update them too, and there are none (`services.reads`).
    session.connection().execute(_SAVE_LAST_SEEN, {"ids": ids, "at": at})
    session.commit()


def save_chosen_status(
    session: Session, user_id: int, status: str | None, until: datetime | None = None
) -> None:
    """Record the status a user chose (and until when), or None for automatic."""
    session.exec(
        sa.update(Profile)
        .where(Profile.user_id == user_id)
        .values(chosen_status=status, chosen_until=until if status else None)
    )
    session.commit()


def save_hide_last_seen(session: Session, user_id: int, hide: bool) -> None:
    """Record whether a user hides their last-seen time."""
    session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(hide_last_seen=hide))
    session.commit()


def hiding_last_seen(session: Session, user_ids: Iterable[int]) -> set[int]:
    """Which of these users hide their last-seen time (and so see no one's)."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    return set(read(session, _HIDING, ids=ids).scalars())
