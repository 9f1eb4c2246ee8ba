"""Custom status: an emoji and a short text ("🌴 On holiday") with a "clear after".

Stored in `Profile`; shown to whoever may see the user's presence (`audience`). The end
is a time the server keeps: `expire_due` clears what has ended (every instance runs it
on a timer; one conditional update per user makes exactly one of them report each
expiry), and `in_force` leaves out an ended status even before that ran. Pure where it
can be: the current time is always a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session, col, select

from chatapp.models import Profile
from chatapp.services.errors import InvalidInput
from chatapp.services.reads import read

TEXT_MAX = 100
EMOJI_MAX = 16
# "Clear after" choices, as the status dialog offers them.
CLEAR_AFTER = ("30m", "1h", "4h", "today", "week", "never")
_DURATIONS = {"30m": timedelta(minutes=30), "1h": timedelta(hours=1), "4h": timedelta(hours=4)}


@dataclass(frozen=True)
class CustomStatus:
    """A user's custom status as tabs hold it (`to_wire`: [emoji, text, until ms or 0])."""

    emoji: str
    text: str
    until: datetime | None = None

    def to_wire(self) -> list:
        return [self.emoji, self.text, int(self.until.timestamp() * 1000) if self.until else 0]


def clean(emoji: object, text: object) -> tuple[str, str]:
    """The emoji and text as they will be stored (surrounding whitespace removed), checked.

    Raises:
        InvalidInput: Not text, an emoji field that is long or has spaces in it, or a
            text over `TEXT_MAX` characters (never cut: the user's words are refused
            whole with a reason). Both empty is fine: it clears the status.
    """
    if not isinstance(emoji, str) or not isinstance(text, str):
        raise InvalidInput("A status is an emoji and a short text.")
    emoji, text = emoji.strip(), " ".join(text.split())
    if len(emoji) > EMOJI_MAX or any(c.isspace() for c in emoji):
        raise InvalidInput("Pick one emoji for your status.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"A status is at most {TEXT_MAX} characters ({len(text)} now).")
    return emoji, text


def until_for(choice: object, now: datetime, utc_offset_minutes: int = 0) -> datetime | None:
    """When a status set `now` ends for a "clear after" choice; None for "never".

    "today" ends at the user's next local midnight, "week" at the start of their next
    Monday; `utc_offset_minutes` is the user's zone (east of UTC positive).

    Raises:
        InvalidInput: Not one of `CLEAR_AFTER`, or an impossible zone.
    """
    if choice not in CLEAR_AFTER:
        raise InvalidInput("Choose when the status clears.")
    if type(utc_offset_minutes) is not int or not -14 * 60 <= utc_offset_minutes <= 14 * 60:
        raise InvalidInput("Your browser reported an impossible time zone.")
    if choice == "never":
        return None
    if choice in _DURATIONS:
        return now + _DURATIONS[choice]
    zone = timezone(timedelta(minutes=utc_offset_minutes))
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if choice == "week":
        midnight += timedelta(days=(7 - midnight.weekday()) % 7)  # on to Monday
    return midnight.astimezone(now.tzinfo)


def in_force(status: CustomStatus | None, now: datetime) -> CustomStatus | None:
    """The status if it has not ended by `now`."""
    if status is None or (status.until is not None and status.until <= now):
        return None
    return status


def save(session: Session, user_id: int, status: CustomStatus | None) -> None:
    """Set (or clear, with None or an empty one) the user's custom status."""
    empty = status is None or not (status.emoji or status.text)
    session.exec(
        sa.update(Profile)
        .where(Profile.user_id == user_id)
        .values(
            custom_emoji=None if empty else status.emoji,
            custom_text=None if empty else status.text,
            custom_until=None if empty else status.until,
        )
    )
    session.commit()


# Read at every page load (`services.reads`).
_OF_USERS = select(Profile.user_id, Profile.custom_emoji, Profile.custom_text, Profile.custom_until).where(
    col(Profile.user_id).in_(sa.bindparam("ids", expanding=True)),
    sa.or_(col(Profile.custom_emoji).is_not(None), col(Profile.custom_text).is_not(None)),
)


def of_users(session: Session, user_ids: list[int] | set[int], now: datetime) -> dict[int, CustomStatus]:
    """The custom statuses in force of these users (those without one are left out)."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = read(session, _OF_USERS, ids=ids)
    out = {}
    for uid, emoji, text, until in rows:
        status = in_force(CustomStatus(emoji or "", text or "", until), now)
        if status is not None:
            out[uid] = status
    return out


def expire_due(session: Session, now: datetime) -> list[int]:
    """Clear the statuses that have ended; the users whose status this call cleared
    (another instance running it at the same moment clears, and reports, the others)."""
    due = session.exec(
        select(Profile.user_id).where(
            col(Profile.custom_until).is_not(None), col(Profile.custom_until) <= now
        )
    ).all()
    cleared = []
    for uid in due:
        done = session.exec(
            sa.update(Profile)
            .where(
                Profile.user_id == uid,
                col(Profile.custom_until).is_not(None),
                col(Profile.custom_until) <= now,
            )
            .values(custom_emoji=None, custom_text=None, custom_until=None)
        ).rowcount
        if done:
            cleared.append(uid)
    session.commit()
    return cleared
