"""The pure rules of presence. No I/O and no clock: `now` is always an argument."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta


class Status(enum.StrEnum):
    """What others see of a user."""

    ONLINE = "online"
    AWAY = "away"
    DND = "dnd"  # do not disturb: chosen by the user
    OFFLINE = "offline"


# What a user may choose instead of automatic. "invisible" ("appear offline") shows
# them offline to everyone while they keep using the app.
MANUAL_STATUSES = ("away", "dnd", "invisible")


@dataclass(frozen=True)
class Tab:
    """One open browser tab of a user: one Reflex client token and its socket.

    Attributes:
        token: Reflex's client token of the tab (one per tab, kept across reconnects).
        sid: The socket.io session the tab is connected with now.
        user_id: Whose tab it is.
        idle: The tab reported no input for the idle period, or it is hidden.
    """

    token: str
    sid: str
    user_id: int
    idle: bool = False


def aggregate(tabs: Collection[Tab], *, manual: str | None = None) -> Status:
    """The status others see of a user, from their open tabs and their own choice.

    Offline with no tab, or when they chose to appear offline. Otherwise a chosen
    status beats activity until they go back to automatic (None): do not disturb, away;
    automatic is online while any tab is active and away when every tab is idle.
    """
    if not tabs or manual == "invisible":
        return Status.OFFLINE
    if manual == "dnd":
        return Status.DND
    if manual == "away" or all(tab.idle for tab in tabs):
        return Status.AWAY
    return Status.ONLINE


def manual_in_force(manual: str | None, until: datetime | None, now: datetime) -> str | None:
    """The chosen status, unless the time it was chosen for has passed."""
    if manual is not None and until is not None and now >= until:
        return None
    return manual


class Action(enum.StrEnum):
    """What to do when a user's computed status may have changed."""

    NOTHING = "nothing"
    PUBLISH = "publish"  # tell watchers now (and drop any pending offline)
    START_GRACE = "start_grace"  # the last tab went away: wait before saying offline
    CANCEL_GRACE = "cancel_grace"  # a tab came back during the grace: say nothing


def decide(published: Status, current: Status, *, grace_pending: bool) -> Action:
    """Compare what watchers were told with what is true now.

    Offline is never published at once: a reload closes the socket and opens a new one
    a moment later, and watchers must not see that blink. Everything else is at once.
    """
    if current == Status.OFFLINE:
        if published == Status.OFFLINE or grace_pending:
            return Action.NOTHING
        return Action.START_GRACE
    if current == published:
        return Action.CANCEL_GRACE if grace_pending else Action.NOTHING
    return Action.PUBLISH


def offline_due(ended_at: datetime, now: datetime, grace: timedelta) -> bool:
    """Whether a user whose last tab ended at `ended_at` is to be published offline now."""
    return now - ended_at >= grace


def epoch_ms(moment: datetime | None) -> int | None:
    """A timezone-aware datetime as UTC epoch milliseconds (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def last_seen_for_display(last_seen_ms: int | None, now_ms: int) -> int | None:
    """The last-seen time to show: never later than now, None for a user never seen.

    A clock ahead of the viewer's must not show "last seen in 2 minutes".
    """
    if last_seen_ms is None or last_seen_ms <= 0:
        return None
    return min(last_seen_ms, now_ms)


@dataclass(frozen=True)
class PresenceData:
    """The wire payload of a presence change (type "presence").

    Attributes:
        user_id: Whose presence this is.
        username: Their username.
        display_name: Their display name.
        status: online, away or offline.
        last_seen_at: When their last tab ended, UTC epoch ms; None if never seen.
        version: Grows with every change of this user, so that a tab that gets two
            changes out of order keeps the newer.
        hide_last_seen: The user hides their last-seen time from everyone.
    """

    user_id: int
    username: str
    display_name: str
    status: Status
    last_seen_at: int | None
    version: int
    hide_last_seen: bool = False

    @property
    def is_online(self) -> bool:
        """Whether the user has a connected tab (online or away)."""
        return self.status != Status.OFFLINE

    def to_wire(self, *, viewer_hides_last_seen: bool = False) -> dict:
        """The JSON-able form sent to a tab, as small as it can be.

        Last seen is left out when this user hides it, and for a viewer who hides their
        own: hiding is mutual, as in the common messengers.
        """
        hidden = self.hide_last_seen or viewer_hides_last_seen
        return {
            "type": "presence",
            "user_id": self.user_id,
            "username": self.username,
            "name": self.display_name,
            "status": self.status.value,
            "is_online": self.is_online,
            "last_seen_at": None if hidden else self.last_seen_at,
            "v": self.version,
        }


def newer(incoming: dict, held: dict | None) -> bool:
    """Whether a received presence entry replaces the one a tab holds."""
    return held is None or incoming.get("v", 0) >= held.get("v", 0)
