"""The pure rules of presence. No I/O and no clock: `now` is always an argument."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime


class Status(enum.StrEnum):
    """What others see of a user."""

    ONLINE = "online"
    AWAY = "away"
    DND = "dnd"  # do not disturb: chosen by the user
    OFFLINE = "offline"


class Chosen(enum.StrEnum):
    """A chosen status: what a user may pick instead of automatic (None)."""

    AWAY = "away"
    DND = "dnd"  # do not disturb
    INVISIBLE = "invisible"  # "appear offline": offline to everyone while using the app


CHOSEN_STATUSES = frozenset(Chosen)


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


def aggregate(tabs: Collection[Tab], *, chosen: str | None = None) -> Status:
    """The status others see of a user, from their open tabs and their own choice.

    Offline with no tab, or when they chose to appear offline. Otherwise a chosen
    status beats activity until they go back to automatic (None): do not disturb, away;
    automatic is online while any tab is active and away when every tab is idle.
    """
    if not tabs or chosen == Chosen.INVISIBLE:
        return Status.OFFLINE
    if chosen == Chosen.DND:
        return Status.DND
    if chosen == Chosen.AWAY or all(tab.idle for tab in tabs):
        return Status.AWAY
    return Status.ONLINE


def chosen_in_force(chosen: str | None, until: datetime | None, now: datetime) -> str | None:
    """The chosen status, unless the time it was chosen for has passed."""
    if chosen is not None and until is not None and now >= until:
        return None
    return chosen


class Action(enum.StrEnum):
    """What to do when a user's computed status may have changed."""

    NOTHING = "nothing"
    PUBLISH = "publish"  # tell watchers now
    START_GRACE = "start_grace"  # the last tab went away: wait before saying offline


def decide(
    published: Status, current: Status, *, grace_due: bool, grace_over: bool, immediate: bool = False
) -> Action:
    """Compare what watchers were told with what is true now.

    Offline is not published at once: a reload closes the socket and opens a new one a
    moment later, and watchers must not see that blink. Everything else is at once.

    No instance owns a user's grace: the registry records when the offline falls due
    (`grace_due`) in the same step that removes the last tab, and whichever instance's
    timer or sweep reaches that time first evaluates again (`grace_over`). So there is
    no pending grace to cancel: a tab that comes back clears the due time, and a late
    timer then finds the user online and does nothing.

    Args:
        published: What watchers were told.
        current: What is true now.
        grace_due: The registry holds a time at which the offline falls due.
        grace_over: This evaluation runs for that time, which has come.
        immediate: No grace at all (logging out, appearing offline).

    Returns:
        PUBLISH, NOTHING, or START_GRACE: make sure a timer runs until the due time.
    """
    if current == published:
        return Action.NOTHING
    if current != Status.OFFLINE or immediate or grace_over or not grace_due:
        # Without a due time nobody would ever publish the offline: do it now.
        return Action.PUBLISH
    return Action.START_GRACE


def next_version(previous: int, now_us: int) -> int:
    """The version of a user's next published change: larger than the last one, and
    at least the current time in microseconds, so that versions keep growing when the
    shared record is lost (a restart without Redis, a flushed Redis)."""
    return max(previous + 1, now_us)


def offline_last_seen(
    ended_at: datetime | None, invisible_since: datetime | None, has_tabs: bool
) -> datetime | None:
    """The last-seen time published with an offline status.

    Args:
        ended_at: When the user's last tab ended (None while they have tabs).
        invisible_since: The user chooses to appear offline at this moment.
        has_tabs: The user still has open tabs.

    Returns:
        When the user appears offline with tabs open, that moment (frozen from then
        on); otherwise when their last tab ended; None to keep the stored last seen.
    """
    if invisible_since is not None and has_tabs:
        return invisible_since
    return ended_at


def dead_instances(beats: dict[str, int], alive: set[str], me: str) -> dict[str, int]:
    """The instances whose heartbeat expired, with the time of their last beat.

    Args:
        beats: Every instance known to the registry and its last heartbeat.
        alive: The instances whose heartbeat has not expired.
        me: This instance (never dead to itself: if its heartbeat expired, it finds out
            on its next beat and registers its tabs again).
    """
    return {inst: beat for inst, beat in beats.items() if inst not in alive and inst != me}


def epoch_ms(moment: datetime | None) -> int | None:
    """A timezone-aware datetime as UTC epoch milliseconds (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class PresenceData:
    """The wire payload of a presence change (type "presence").

    Attributes:
        user_id: Whose presence this is.
        username: Their username.
        display_name: Their display name.
        status: online, away, dnd or offline (also for a user who appears offline).
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
        """Whether watchers see the user connected (online, away or do not disturb)."""
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
