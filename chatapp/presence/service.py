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
    MANUAL_STATUSES,
    Action,
    PresenceData,
    Status,
    Tab,
    aggregate,
    decide,
    epoch_ms,
    manual_in_force,
)
from chatapp.presence.preferences import Preferences
from chatapp.presence.registry import LocalRegistry
from chatapp.services.conversations import contact_ids

logger = logging.getLogger(__name__)

# Sends one presence entry (its wire dict) to the given tab tokens.
Deliver = Callable[[list[str], dict], Awaitable[object]]
# Replaces the whole presence map of the given tab tokens.
DeliverSnapshot = Callable[[list[str], dict[str, dict]], Awaitable[object]]


class PresenceService:
    """Keeps the truth about who is online and tells exactly the right tabs.

    All state changes happen synchronously between awaits, so concurrent handlers
    cannot interleave inside one decision. Only deliveries await.

    Args:
        deliver: Sends a presence entry to tabs.
        session_factory: Opens a database session (`rx.session` in the app).
        grace: How long a user without tabs still shows as before (hides reloads).
        clock: The current time; tests pass a fixed one.
        deliver_snapshot: Replaces the presence map of tabs (when what a user may see
            changes as a whole: hiding last seen).
    """

    def __init__(
        self,
        *,
        deliver: Deliver,
        session_factory: Callable[[], Session],
        grace: timedelta,
        clock: Callable[[], datetime] = utcnow,
        registry: LocalRegistry | None = None,
        deliver_snapshot: DeliverSnapshot | None = None,
    ) -> None:
        self.registry = registry or LocalRegistry()
        self.preferences = Preferences(session_factory)
        self._deliver = deliver
        self._deliver_snapshot = deliver_snapshot
        self._session = session_factory
        self.grace = grace
        self._clock = clock
        self._published: dict[int, PresenceData] = {}
        self._ended_at: dict[int, datetime] = {}
        self._grace_tasks: dict[int, asyncio.Task] = {}
        self._expiry_tasks: dict[int, asyncio.Task] = {}
        self._versions = itertools.count(time.time_ns() // 1000)
        self._deliveries: set[asyncio.Task] = set()

    # Tab events ----------------------------------------------------------------------

    async def mark_online(self, *, token: str, sid: str, user_id: int) -> None:
        """A tab of the user loaded an authenticated page (first load or reconnect)."""
        # A loaded page starts active: its idle watcher starts afresh and reports only
        # transitions, so keeping an old idle flag would leave the user away for good.
        replaced = self.registry.register(Tab(token=token, sid=sid, user_id=user_id, idle=False))
        if replaced is not None and replaced.user_id != user_id:  # same tab, other account
            self._tab_gone(replaced.user_id)
            await self._evaluate(replaced.user_id)
        self._ended_at.pop(user_id, None)
        await self._evaluate(user_id)

    async def mark_offline(self, *, token: str, sid: str | None = None) -> None:
        """A tab's socket closed (or the tab logged out, `sid` None)."""
        tab = self.registry.unregister(token, sid)
        if tab is None:
            return
        self._tab_gone(tab.user_id)
        await self._evaluate(tab.user_id, immediate=sid is None)

    def _tab_gone(self, user_id: int) -> None:
        # The last tab's end is the last-seen time; not for a user who appears offline,
        # whose last seen stays when they became invisible.
        if not self.registry.tabs_of(user_id) and not self.preferences.invisible(user_id):
            self._ended_at[user_id] = self._clock()

    async def set_idle(self, *, token: str, idle: bool) -> None:
        """A tab reported no input for the idle period (or input again)."""
        tab = self.registry.set_idle(token, idle)
        if tab is not None:
            await self._evaluate(tab.user_id)

    async def set_manual(self, *, user_id: int, status: str | None, until: datetime | None = None) -> None:
        """The user chose a status ("away", "dnd", "invisible"), or automatic (None).

        Raises:
            ValueError: Not a status a user may choose.
        """
        if status is not None and status not in MANUAL_STATUSES:
            msg = f"not a status a user may choose: {status!r}"
            raise ValueError(msg)
        now = self._clock()
        before = self.preferences.choose_status(user_id, status, until)
        going_invisible = status == "invisible" and before.manual != "invisible"
        if going_invisible and self.registry.tabs_of(user_id):
            # Frozen here: nothing the user does while invisible reaches anyone.
            self._ended_at[user_id] = now
        self._schedule_expiry(user_id, until if status else None, now)
        await self._evaluate(user_id, immediate=going_invisible)

    async def set_hide_last_seen(self, *, user_id: int, hide: bool) -> None:
        """The user hides (or shows) their last-seen time: every watcher and the user's
        own tabs get it at once."""
        self.preferences.choose_hide_last_seen(user_id, hide)
        if user_id in self._published:
            await self._publish(user_id, self._published[user_id].status)
        tokens = self.registry.tokens_of([user_id])
        if tokens and self._deliver_snapshot is not None:
            self._spawn(self._deliver_snapshot(tokens, self.snapshot(user_id)))

    def _schedule_expiry(self, user_id: int, until: datetime | None, now: datetime) -> None:
        old = self._expiry_tasks.pop(user_id, None)
        if old is not None:
            old.cancel()
        if until is not None:
            delay = max(0.0, (until - now).total_seconds())
            self._expiry_tasks[user_id] = asyncio.get_running_loop().create_task(self._expire(user_id, delay))

    async def _expire(self, user_id: int, delay: float) -> None:
        await asyncio.sleep(delay)
        self._expiry_tasks.pop(user_id, None)
        await self._evaluate(user_id)

    # Reading ------------------------------------------------------------------------

    def status_of(self, user_id: int) -> Status:
        """The user's status as watchers see it now."""
        data = self._published.get(user_id)
        if data is not None:
            return data.status
        return self._current_status(user_id)

    def snapshot(self, user_id: int) -> dict[str, dict]:
        """The presence of the user and of everyone who shares a conversation with them,
        as this user may see it."""
        with self._session() as session:
            ids = contact_ids(session, user_id) | {user_id}
            facts = store.load(session, ids)
        for person in facts.values():
            self.preferences.remember(person)
        hides = self.preferences.of(user_id).hide_last_seen
        return {
            str(uid): self._view(facts[uid]).to_wire(viewer_hides_last_seen=hides and uid != user_id)
            for uid in ids
            if uid in facts
        }

    def presence_of(self, user_id: int) -> PresenceData | None:
        """The presence of one user as watchers see it."""
        with self._session() as session:
            facts = store.load(session, [user_id]).get(user_id)
        return None if facts is None else self._view(facts)

    # Deciding -----------------------------------------------------------------------

    def _current_status(self, user_id: int) -> Status:
        choices = self.preferences.of(user_id)
        manual = manual_in_force(choices.manual, choices.until, self._clock())
        if manual is None and choices.manual is not None:  # its time has passed
            self.preferences.choose_status(user_id, None, None)
        return aggregate(self.registry.tabs_of(user_id), manual=manual)

    def _view(self, facts: store.PersonFacts) -> PresenceData:
        published = self._published.get(facts.user_id)
        if published is not None:
            return published
        self.preferences.remember(facts)
        return PresenceData(
            user_id=facts.user_id,
            username=facts.username,
            display_name=facts.display_name,
            status=self._current_status(facts.user_id),
            last_seen_at=epoch_ms(facts.last_seen_at),
            version=0,
            hide_last_seen=facts.hide_last_seen,
        )

    async def _evaluate(self, user_id: int, *, immediate: bool = False) -> None:
        current = self._current_status(user_id)
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
            hiders = store.hiding_last_seen(session, receivers - {user_id})
        data = PresenceData(
            user_id=user_id,
            username=facts.username,
            display_name=facts.display_name,
            status=status,
            last_seen_at=epoch_ms(facts.last_seen_at),
            version=next(self._versions),
            hide_last_seen=facts.hide_last_seen,
        )
        self._published[user_id] = data
        # Hiding is mutual: viewers who hide their own last seen get the entry without it.
        for group, hides in ((receivers - hiders, False), (hiders, True)):
            tokens = self.registry.tokens_of(group)
            if tokens:
                # A task, not an await: the change may come from an event handler of one
                # of these very tabs, which holds that tab's state lock until it returns.
                # Receivers keep the newest by version if deliveries overtake each other.
                self._spawn(self._deliver(tokens, data.to_wire(viewer_hides_last_seen=hides)))

    def _spawn(self, delivery: Awaitable[object]) -> None:
        task = asyncio.get_running_loop().create_task(delivery)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    # Housekeeping -------------------------------------------------------------------

    def flush_last_seen(self) -> None:
        """Write "seen now" for every connected user, so that a crash loses little (not
        for users who appear offline: their last seen stays frozen)."""
        connected = {u for u in self.registry.connected_users() if not self.preferences.invisible(u)}
        if connected:
            with self._session() as session:
                store.save_last_seen(session, connected, self._clock())

    async def close(self) -> None:
        """On shutdown: record everyone connected as seen now, and stop the timers."""
        timers = [*self._grace_tasks.values(), *self._expiry_tasks.values()]
        for task in timers:
            task.cancel()
        for task in timers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with self._session() as session:
            for uid, at in dict(self._ended_at).items():
                store.save_last_seen(session, [uid], at)
        self.flush_last_seen()
