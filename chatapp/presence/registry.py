"""Which tabs each user has open, in this process (the single-process registry)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from chatapp.presence.closed_tabs import ClosedTabs
from chatapp.presence.logic import Status, Tab
from chatapp.presence.shared import Choices, Published, UserRecord


class LocalRegistry:
    """Open tabs by token and by user. Every method is synchronous, so each call is
    atomic on the event loop: no two handlers can interleave inside one.
    """

    def __init__(self) -> None:
        self._tabs: dict[str, Tab] = {}
        self._by_user: dict[int, dict[str, Tab]] = {}

    def register(self, tab: Tab) -> Tab | None:
        """Record an open tab (a page load or a reconnect); returns the tab it replaced."""
        old = self._tabs.get(tab.token)
        if old is not None and old.user_id != tab.user_id:
            self._drop(old)
        self._tabs[tab.token] = tab
        self._by_user.setdefault(tab.user_id, {})[tab.token] = tab
        return old

    def unregister(self, token: str, sid: str | None = None) -> Tab | None:
        """Forget a tab. With `sid`, only if the tab is still on that socket: the close
        of a socket that a reconnect already replaced must not end the new one.
        """
        tab = self._tabs.get(token)
        if tab is None or (sid is not None and tab.sid != sid):
            return None
        self._drop(tab)
        return tab

    def set_idle(self, token: str, idle: bool) -> Tab | None:
        """Mark a tab idle or active; returns the updated tab, None if unknown."""
        tab = self._tabs.get(token)
        if tab is None:
            return None
        tab = replace(tab, idle=idle)
        self._tabs[token] = tab
        self._by_user[tab.user_id][token] = tab
        return tab

    def tabs_of(self, user_id: int) -> list[Tab]:
        """The open tabs of a user."""
        return list(self._by_user.get(user_id, {}).values())

    def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        """The tokens of every open tab of these users."""
        return [token for uid in user_ids for token in self._by_user.get(uid, {})]

    def connected_users(self) -> set[int]:
        """The users with at least one open tab."""
        return set(self._by_user)

    def _drop(self, tab: Tab) -> None:
        del self._tabs[tab.token]
        tabs = self._by_user.get(tab.user_id, {})
        tabs.pop(tab.token, None)
        if not tabs:
            self._by_user.pop(tab.user_id, None)


class InProcessRegistry:
    """The presence registry of a single process (`shared.PresenceRegistry`): the tabs in
    a `LocalRegistry`, each user's record in a dict.

    Its coroutines never await, so each runs to its end without another handler
    stepping in: as atomic as the synchronous `LocalRegistry`. The grace timers of the
    service are the only ones there are; nothing needs a sweep.

    A tab whose socket closed stays a receiver of changes (`tokens_of`) until its keep
    ends (its grace, or a mass drop's longer one; or later, while its user's offline is
    put off in a storm) or it is taken back:
    its state stays in this process, so a reconnect within the grace finds it current
    and its page load need not load it again (`kept_current`;
    `AppState._open_session`).
    """

    def __init__(self) -> None:
        self.tabs = LocalRegistry()
        self._rev: dict[int, int] = {}
        self._published: dict[int, Published] = {}
        self._ended_at: dict[int, datetime] = {}
        self._grace_due: dict[int, datetime] = {}
        self._choices: dict[int, Choices] = {}
        # Tabs whose socket closed, until when each counts as reconnecting.
        self._closed = ClosedTabs()
        self._put_off: set[int] = set()  # users whose offline is put off (`postpone`)

    async def register(self, tab: Tab, *, now: datetime, grace: timedelta) -> Tab | None:
        self._closed.drop(tab.token)
        self._forget_closed(now)
        replaced = self.tabs.register(tab)
        if replaced is not None and replaced.user_id != tab.user_id:
            self._tab_gone(replaced.user_id, now, grace)
        self._bump(tab.user_id)
        self._ended_at.pop(tab.user_id, None)
        self._grace_due.pop(tab.user_id, None)
        self._put_off.discard(tab.user_id)
        return replaced

    async def unregister(
        self, token: str, sid: str | None, *, now: datetime, grace: timedelta, keep: timedelta | None = None
    ) -> Tab | None:
        tab = self.tabs.unregister(token, sid)
        if tab is not None:
            self._tab_gone(tab.user_id, now, grace)
            if sid is not None:  # a socket closed (a logout is not coming back)
                self._closed.add(token, tab.user_id, now + max(grace, keep or grace))
        self._forget_closed(now)
        return tab

    async def keep_closed(self, tokens: Iterable[str], *, now: datetime, keep: timedelta) -> None:
        for token in tokens:
            self._closed.keep(token, now + keep)

    def kept_current(self, token: str) -> bool:
        # Every tab closed less than a grace ago got every change (see the class).
        return True

    async def recently_closed(self, token: str, *, now: datetime) -> int | None:
        self._forget_closed(now)
        closed = self._closed.get(token)
        if closed is None or not self._counts(*closed, now=now):
            return None
        return self._closed.drop(token)

    def _counts(self, user_id: int, until: datetime, *, now: datetime) -> bool:
        """Whether a closed tab is still taken back: within its grace, or while its
        user's offline is put off (`postpone`)."""
        return until > now or user_id in self._put_off

    def _forget_closed(self, now: datetime) -> None:
        self._closed.forget(lambda user_id, until: self._counts(user_id, until, now=now))

    def _tab_gone(self, user_id: int, now: datetime, grace: timedelta) -> None:
        self._bump(user_id)
        if not self.tabs.tabs_of(user_id):
            self._ended_at[user_id] = now
            self._grace_due[user_id] = now + grace

    async def set_idle(self, token: str, idle: bool) -> Tab | None:
        tab = self.tabs.set_idle(token, idle)
        if tab is not None:
            self._bump(tab.user_id)
        return tab

    async def tabs_of(self, user_id: int) -> list[Tab]:
        return self.tabs.tabs_of(user_id)

    async def tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        return self.local_tokens_of(user_ids)

    def local_tokens_of(self, user_ids: Iterable[int]) -> list[str]:
        # One process: every tab is local. Open tabs, then closed ones not yet forgotten
        # (one whose grace ended but is not yet forgotten gets a change it does not need).
        ids = list(dict.fromkeys(user_ids))
        return self.tabs.tokens_of(ids) + self._closed.tokens_of(ids)

    async def record(self, user_id: int) -> UserRecord:
        return UserRecord(
            user_id=user_id,
            rev=self._rev.get(user_id, 0),
            tabs=tuple(self.tabs.tabs_of(user_id)),
            published=self._published.get(user_id),
            ended_at=self._ended_at.get(user_id),
            grace_due=self._grace_due.get(user_id),
            choices=self._choices.get(user_id),
        )

    async def records(self, user_ids: Iterable[int]) -> dict[int, UserRecord]:
        return {uid: await self.record(uid) for uid in set(user_ids)}

    async def commit(self, record: UserRecord, published: Published) -> bool:
        uid = record.user_id
        held = self._published.get(uid)
        if self._rev.get(uid, 0) != record.rev or (held.version if held else 0) != record.version:
            return False
        self._published[uid] = published
        if published.status == Status.OFFLINE:
            self._ended_at.pop(uid, None)
            self._grace_due.pop(uid, None)
            self._put_off.discard(uid)
            # Shown offline: the grace of their closed tabs is over (or never mattered).
            self._closed.drop_user(uid)
        return True

    async def choices(self, user_id: int) -> Choices | None:
        return self._choices.get(user_id)

    async def store_choices(self, user_id: int, **changes: object) -> None:
        self._choices[user_id] = replace(self._choices.get(user_id, Choices()), **changes)
        self._bump(user_id)

    async def seed_choices(self, user_id: int, choices: Choices) -> Choices:
        return self._choices.setdefault(user_id, choices)

    async def schedule_expiry(self, user_id: int, until: datetime | None) -> None:
        """Nothing to do: the service's own timer is the only one needed in one process."""

    async def postpone(self, user_id: int, due: datetime, until: datetime) -> bool:
        if self._grace_due.get(user_id) != due:
            return False
        self._grace_due[user_id] = until
        self._put_off.add(user_id)
        return True

    async def local_users(self) -> set[int]:
        return self.tabs.connected_users()

    async def release(self, *, now: datetime, grace: timedelta) -> dict[int, datetime]:
        # The process stops with its tabs: those waiting for their grace are offline
        # from their last tab's end (the rest is flushed as seen now by the service).
        return {uid: self._ended_at[uid] for uid in self._grace_due if uid in self._ended_at}

    def _bump(self, user_id: int) -> None:
        self._rev[user_id] = self._rev.get(user_id, 0) + 1
