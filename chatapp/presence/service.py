"""`PresenceService`: turns tab events into published presence changes."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from chatapp.models import utcnow
from chatapp.presence import store
from chatapp.presence.logic import (
    Action,
    PresenceData,
    Status,
    Tab,
    aggregate,
    decide,
    epoch_ms,
)
from chatapp.presence.registry import LocalRegistry
from chatapp.services.conversations import contact_ids

logger = logging.getLogger(__name__)

# Sends one presence entry (its wire dict) to the given tab tokens.
Deliver = Callable[[list[str], dict], Awaitable[object]]


class PresenceService:
    """Keeps the truth about who is online and tells exactly the right tabs.

    All state changes happen synchronously between awaits, so concurrent handlers
    cannot interleave inside one decision. Only deliveries await.

    Args:
        deliver: Sends a presence entry to tabs.
        session_factory: Opens a database session (`rx.session` in the app).
        grace: How long a user without tabs still shows as before (hides reloads).
        clock: The current time; tests pass a fixed one.
    """

    def __init__(
        self,
        *,
        deliver: Deliver,
        session_factory: Callable[[], Session],
        grace: timedelta,
        clock: Callable[[], datetime] = utcnow,
        registry: LocalRegistry | None = None,
    ) -> None:
        self.registry = registry or LocalRegistry()
        self._deliver = deliver
        self._session = session_factory
        self.grace = grace
        self._clock = clock
        self._published: dict[int, PresenceData] = {}
        self._manual: dict[int, str | None] = {}
        self._ended_at: dict[int, datetime] = {}
        self._grace_tasks: dict[int, asyncio.Task] = {}
        self._versions = itertools.count(time.time_ns() // 1000)
        self._deliveries: set[asyncio.Task] = set()

    # Tab events ----------------------------------------------------------------------

    async def mark_online(self, *, token: str, sid: str, user_id: int) -> None:
        """A tab of the user loaded an authenticated page (first load or reconnect)."""
        # A loaded page starts active: its idle watcher starts afresh and reports only
        # transitions, so keeping an old idle flag would leave the user away for good.
        replaced = self.registry.register(Tab(token=token, sid=sid, user_id=user_id, idle=False))
        if replaced is not None and replaced.user_id != user_id:  # same tab, other account
            if not self.registry.tabs_of(replaced.user_id):
                self._ended_at[replaced.user_id] = self._clock()
            await self._evaluate(replaced.user_id)
        self._ended_at.pop(user_id, None)
        await self._evaluate(user_id)

    async def mark_offline(self, *, token: str, sid: str | None = None) -> None:
        """A tab's socket closed (or the tab logged out, `sid` None)."""
        tab = self.registry.unregister(token, sid)
        if tab is None:
            return
        if not self.registry.tabs_of(tab.user_id):
            self._ended_at[tab.user_id] = self._clock()
        await self._evaluate(tab.user_id, immediate=sid is None)

    async def set_idle(self, *, token: str, idle: bool) -> None:
        """A tab reported no input for the idle period (or input again)."""
        tab = self.registry.set_idle(token, idle)
        if tab is not None:
            await self._evaluate(tab.user_id)

    async def set_manual(self, *, user_id: int, status: str | None) -> None:
        """The user chose a status ("away") or automatic (None)."""
        with self._session() as session:
            store.save_manual_status(session, user_id, status)
        self._manual[user_id] = status
        await self._evaluate(user_id)

    # Reading ------------------------------------------------------------------------

    def status_of(self, user_id: int) -> Status:
        """The user's status as watchers see it now."""
        data = self._published.get(user_id)
        if data is not None:
            return data.status
        return self._current_status(user_id, self._manual.get(user_id))

    def snapshot(self, user_id: int) -> dict[str, dict]:
        """The presence of the user and of everyone who shares a conversation with them."""
        with self._session() as session:
            ids = contact_ids(session, user_id) | {user_id}
            facts = store.load(session, ids)
        return {str(uid): self._view(facts[uid]).to_wire() for uid in ids if uid in facts}

    def presence_of(self, user_id: int) -> PresenceData | None:
        """The presence of one user as watchers see it."""
        with self._session() as session:
            facts = store.load(session, [user_id]).get(user_id)
        return None if facts is None else self._view(facts)

    # Deciding -----------------------------------------------------------------------

    def _current_status(self, user_id: int, manual: str | None) -> Status:
        return aggregate(self.registry.tabs_of(user_id), manual_away=manual == "away")

    def _view(self, facts: store.PersonFacts) -> PresenceData:
        published = self._published.get(facts.user_id)
        if published is not None:
            return published
        manual = self._manual.setdefault(facts.user_id, facts.manual_status)
        return PresenceData(
            user_id=facts.user_id,
            username=facts.username,
            display_name=facts.display_name,
            status=self._current_status(facts.user_id, manual),
            last_seen_at=epoch_ms(facts.last_seen_at),
            version=0,
        )

    async def _evaluate(self, user_id: int, *, immediate: bool = False) -> None:
        if user_id not in self._manual:
            with self._session() as session:
                facts = store.load(session, [user_id]).get(user_id)
            self._manual[user_id] = facts.manual_status if facts else None
        current = self._current_status(user_id, self._manual[user_id])
        published = self.status_of(user_id) if user_id in self._published else Status.OFFLINE
        action = decide(published, current, grace_pending=user_id in self._grace_tasks)
        if action == Action.START_GRACE and immediate:
            action = Action.PUBLISH
        if action in (Action.PUBLISH, Action.CANCEL_GRACE):
            self._cancel_grace(user_id)
        if action == Action.START_GRACE:
            self._grace_tasks[user_id] = asyncio.create_task(self._after_grace(user_id))
        elif action == Action.PUBLISH:
            await self._publish(user_id, current)

    def _cancel_grace(self, user_id: int) -> None:
        task = self._grace_tasks.pop(user_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _after_grace(self, user_id: int) -> None:
        await asyncio.sleep(self.grace.total_seconds())
        self._grace_tasks.pop(user_id, None)
        if self.registry.tabs_of(user_id):
            return
        await self._publish(user_id, Status.OFFLINE)

    async def _publish(self, user_id: int, status: Status) -> None:
        ended = self._ended_at.pop(user_id, None) if status == Status.OFFLINE else None
        with self._session() as session:
            if ended is not None:
                store.save_last_seen(session, [user_id], ended)
            facts = store.load(session, [user_id]).get(user_id)
            if facts is None:
                return
            receivers = contact_ids(session, user_id) | {user_id}
        data = PresenceData(
            user_id=user_id,
            username=facts.username,
            display_name=facts.display_name,
            status=status,
            last_seen_at=epoch_ms(facts.last_seen_at),
            version=next(self._versions),
        )
        self._published[user_id] = data
        tokens = self.registry.tokens_of(receivers)
        if tokens:
            # A task, not an await: the change may come from an event handler of one of
            # these very tabs, which holds that tab's state lock until it returns.
            # Receivers keep the newest by version if two deliveries overtake each other.
            task = asyncio.get_running_loop().create_task(self._deliver(tokens, data.to_wire()))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    # Membership and housekeeping -------------------------------------------------------

    def flush_last_seen(self) -> None:
        """Write "seen now" for every connected user, so that a crash loses little."""
        connected = self.registry.connected_users()
        if connected:
            with self._session() as session:
                store.save_last_seen(session, connected, self._clock())

    async def close(self) -> None:
        """On shutdown: record everyone connected as seen now, and stop the timers."""
        for task in self._grace_tasks.values():
            task.cancel()
        for task in self._grace_tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with self._session() as session:
            ended = dict(self._ended_at)
            for uid, at in ended.items():
                store.save_last_seen(session, [uid], at)
        self.flush_last_seen()
