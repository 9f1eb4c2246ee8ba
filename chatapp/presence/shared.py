"""What a presence registry holds and does, whether in this process or shared by every
instance of the app (in Redis).

A registry keeps, for each user, one record: their open tabs, what watchers were last
told (status, version, last seen), their choices, and when an offline falls due. Every
change of a record bumps its revision, and `commit` publishes only if neither the
revision nor the published version moved since the record was read: two instances
deciding about the same user at once cannot lose a change or both broadcast it; the
one that loses reads again and decides again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chatapp.presence.logic import Status, Tab


@dataclass(frozen=True)
class Choices:
    """One user's choices.

    Attributes:
        chosen: "away", "dnd", "invisible", or None for automatic.
        until: When `chosen` ends by itself; None: when the user changes it.
        hide_last_seen: Others see no last-seen time for this user (and this user
            sees no one's).
    """

    chosen: str | None = None
    until: datetime | None = None
    hide_last_seen: bool = False


@dataclass(frozen=True)
class Published:
    """What watchers were last told about a user.

    Attributes:
        status: The status they were told.
        version: Its version (see `PresenceData.version`).
        last_seen_at: The last-seen time they were told (None: never seen).
    """

    status: Status
    version: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class UserRecord:
    """One consistent read of a user's presence in a registry.

    Attributes:
        user_id: Whose record it is.
        rev: The revision: grows with every change of tabs or choices.
        tabs: The user's open tabs, on every instance.
        published: What watchers were told; None if nothing yet.
        ended_at: When the user's last tab ended (their last seen once offline).
        grace_due: When the offline falls due unless a tab comes back.
        choices: The user's choices, None when the registry does not hold them yet.
    """

    user_id: int
    rev: int = 0
    tabs: tuple[Tab, ...] = ()
    published: Published | None = None
    ended_at: datetime | None = None
    grace_due: datetime | None = None
    choices: Choices | None = None

    @property
    def published_status(self) -> Status:
        """What watchers were told, offline if nothing."""
        return self.published.status if self.published is not None else Status.OFFLINE

    @property
    def version(self) -> int:
        """The version watchers hold, 0 if nothing was published."""
        return self.published.version if self.published is not None else 0


class PresenceRegistry(Protocol):
    """The operations `PresenceService` needs from a registry. Each is atomic.

    `now` and `grace` are passed in: a registry records times, it never decides. When a
    user's last tab goes (closed, replaced by another account's, or its instance died),
    the registry records `ended_at` and the due time of the offline in the same step, so
    that no crash between two steps can leave a user online with no tab.
    """

    async def register(self, tab: Tab, *, now: datetime, grace: timedelta) -> Tab | None:
        """Record an open tab on this instance; returns the tab it replaced, if any."""
        ...

    async def unregister(
        self, token: str, sid: str | None, *, now: datetime, grace: timedelta, keep: timedelta | None = None
    ) -> Tab | None:
        """Forget a tab (only if still on socket `sid`, unless None); returns it. A
        socket closed (`sid` given): the tab is taken back if it reconnects within
        `keep` (at least the grace: a mass drop's tab for as long as its user's offline
        may be put off, which is decided only when the grace ends), and gets changes
        meanwhile."""
        ...

    async def keep_closed(self, tokens: Iterable[str], *, now: datetime, keep: timedelta) -> None:
        """Take these closed tabs back, and send them changes, until `now + keep` at
        least (a mass drop recognized after they closed); tabs not closed are left."""
        ...

    async def recently_closed(self, token: str, *, now: datetime) -> int | None:
        """The user of the tab with this token if its socket closed less than a grace
        ago (not a logout): the tab is reconnecting."""
        ...

    def kept_current(self, token: str) -> bool:
        """Whether a tab taken back here (`recently_closed`), asked before it is
        registered again, got every change while it was closed (`tokens_of`,
        `local_tokens_of`): then its state is current, and its page load need not load
        what changes keep current."""
        ...

    async def set_idle(self, token: str, idle: bool) -> Tab | None:
        """Mark a tab idle or active; returns the updated tab, None if unknown."""
        ...

    async def tabs_of(self, user_id: int) -> list[Tab]:
        """The open tabs of a user, on every instance."""
        ...

    async def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of these users' tabs that changes go to, on every instance: every
        open tab, and each closed less than its grace ago."""
        ...

    def local_tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The same, of the tabs this instance holds."""
        ...

    async def record(self, user_id: int) -> UserRecord:
        """A user's record."""
        ...

    async def records(self, user_ids: Iterable[int]) -> dict[int, UserRecord]:
        """The records of several users (each one consistent)."""
        ...

    async def commit(self, record: UserRecord, published: Published) -> bool:
        """Publish, if the record did not change since it was read. Publishing offline
        ends the user's grace. Returns whether it was published."""
        ...

    async def choices(self, user_id: int) -> Choices | None:
        """The choices the registry holds for a user, None if it holds none yet."""
        ...

    async def store_choices(self, user_id: int, **changes: object) -> None:
        """Change some of the choices held for a user (fields of `Choices`); a change
        bumps the revision. The user's choices are held already (`seed_choices`)."""
        ...

    async def seed_choices(self, user_id: int, choices: Choices) -> Choices:
        """Hold choices read from the database, unless some are held already (which are
        newer); returns those held."""
        ...

    async def schedule_expiry(self, user_id: int, until: datetime | None) -> None:
        """Evaluate the user again at `until`, when a chosen status ends by itself."""
        ...

    async def postpone(self, user_id: int, due: datetime, until: datetime) -> bool:
        """Move the user's offline from `due` to `until` (a mass drop's tabs are still
        coming back), unless it is no longer due at `due`. Their closed tabs are still
        taken back meanwhile. Returns whether it was moved."""
        ...

    async def local_users(self) -> set[int]:
        """The users with a tab on this instance."""
        ...

    async def release(self, *, now: datetime, grace: timedelta) -> dict[int, datetime]:
        """This instance stops: end its tabs. Returns the users now waiting to be shown
        offline, with when their last tab ended."""
        ...
