"""`PresenceService`: turns tab events into published presence changes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from sqlmodel import Session

from chatapp.background import Background
from chatapp.copies import OneCopy
from chatapp.models import utcnow
from chatapp.presence import store
from chatapp.presence.drops import MassDrops
from chatapp.presence.logic import (
    CHOSEN_STATUSES,
    Action,
    Chosen,
    Status,
    Tab,
    aggregate,
    chosen_in_force,
    decide,
    next_version,
    offline_last_seen,
)
from chatapp.presence.preferences import Preferences
from chatapp.presence.registry import InProcessRegistry
from chatapp.presence.shared import PresenceRegistry, Published, UserRecord
from chatapp.presence.timers import Timers
from chatapp.presence.views import shared_entry, view
from chatapp.services.audience import visible_to, watchers_of

logger = logging.getLogger(__name__)

# Sends one presence entry (its wire dict) to every open tab of these users.
Deliver = Callable[[set[int], dict], Awaitable[object]]
# Replaces the whole presence map of every open tab of this user.
DeliverSnapshot = Callable[[int, dict[str, dict]], Awaitable[object]]

# How often one evaluation reads again after losing a commit to a concurrent change.
# Giving up loses nothing: whoever made the change that won evaluates after it.
_ATTEMPTS = 50


class PresenceService:
    """Keeps the truth about who is online and tells exactly the right tabs.

    The one place that decides. What it decides from (tabs, published status, choices)
    lives in a registry, in this process or shared by every instance of the app; each
    decision is committed only if that record did not change meanwhile, else it is made
    again. Only the instance whose commit succeeds delivers the change.

    Args:
        deliver: Sends a presence entry to the tabs of users (the push API).
        session_factory: Opens a database session (`rx.session` in the app).
        grace: How long a user without tabs still shows as before (hides reloads).
        clock: The current time; tests pass a fixed one.
        registry: Where tabs and published statuses are kept (in this process if None).
        deliver_snapshot: Replaces the presence map of a user's tabs (when what they may
            see changes as a whole: hiding last seen).
    """

    def __init__(
        self,
        *,
        deliver: Deliver,
        session_factory: Callable[[], Session],
        grace: timedelta,
        clock: Callable[[], datetime] = utcnow,
        registry: PresenceRegistry | None = None,
        deliver_snapshot: DeliverSnapshot | None = None,
        drops: MassDrops | None = None,
    ) -> None:
        self.registry: PresenceRegistry = registry or InProcessRegistry()
        self.preferences = Preferences(session_factory, self.registry)
        self._deliver = deliver
        self._deliver_snapshot = deliver_snapshot
        self._session = session_factory
        self.grace = grace
        self._drops = drops
        # The longest grace a close may get (a timer never waits longer).
        self._longest_grace = max(grace, drops.longest) if drops is not None else grace
        self._clock = clock
        self._timers = Timers()
        self._deliveries = Background("a presence delivery", logger)
        # Tabs taken back at their socket's connect with a state kept current meanwhile
        # (`came_back_current`), until their page loads: token -> the socket's sid.
        self._kept: dict[str, str] = {}
        # The entries snapshots give tabs, one copy of each (`views.shared_entry`).
        self._entries: OneCopy[tuple[str, dict]] = OneCopy()

    # Tab events ----------------------------------------------------------------------

    async def mark_online(self, *, token: str, sid: str, user_id: int) -> None:
        """A tab of the user loaded an authenticated page (first load or reconnect)."""
        # A loaded page starts active: its idle watcher starts afresh and reports only
        # transitions, so keeping an old idle flag would leave the user away for good.
        tab = Tab(token=token, sid=sid, user_id=user_id, idle=False)
        replaced = await self.registry.register(tab, now=self._clock(), grace=self.grace)
        if replaced is not None and replaced.user_id != user_id:  # same tab, other account
            await self._evaluate(replaced.user_id)
        await self._evaluate(user_id)

    async def tab_reconnected(self, *, token: str, sid: str) -> bool:
        """A socket opened with the token of a tab whose socket closed less than a grace
        ago: the tab is back (a reload, a network blip, a restarted server), before its
        page has loaded again. Under load a page takes longer than the grace to load, and
        its user would blink offline and online for everyone meanwhile.

        The page load registers the tab again (`mark_online`) with the signed-in user; a
        tab whose login ended meanwhile is ended there (`AppState._open_session`, the
        first step of each page's on_load).

        Returns:
            Whether the tab was taken back.
        """
        now = self._clock()
        user_id = await self.registry.recently_closed(token, now=now)
        if user_id is None:
            self._kept.pop(token, None)
            return False
        if self._drops is not None:
            self._drops.came_back(token, now)
        # Asked before the tab is registered again: until then it gets changes as closed.
        if self.registry.kept_current(token):
            self._kept[token] = sid
        else:
            self._kept.pop(token, None)
        await self.mark_online(token=token, sid=sid, user_id=user_id)
        return True

    def came_back_current(self, token: str, sid: str) -> bool:
        """Whether this tab was taken back at the connect of its socket `sid`
        (`tab_reconnected`: registered again, with the user it closed with) and its
        state got every change while it was away (the registry's `kept_current`), once:
        the page load that follows need not register it again nor load what changes
        keep current (the presence map, the choices, the conversation list).

        Such a state is exactly as current as an open tab's: a closed tab got the same
        changes, in place (`tabs.push`), and the reconnect's hydrate sends all of it.
        """
        return self._kept.pop(token, None) == sid

    async def mark_offline(self, *, token: str, sid: str | None = None) -> None:
        """A tab's socket closed (or the tab logged out, `sid` None). A close within a
        mass drop of this instance's sockets gets a longer grace (`MassDrops`)."""
        now = self._clock()
        grace = keep = self.grace
        drops = self._drops if sid is not None else None
        if drops is not None:
            grace = drops.grace_for_close(now, grace, token)
            keep = drops.taken_back_for(token, grace)
        self._kept.pop(token, None)  # closed again before its page loaded
        tab = await self.registry.unregister(token, sid, now=now, grace=grace, keep=keep)
        if drops is not None:
            await self._keep_drop_together(drops, token, grace, keep, now)
        if tab is not None:
            await self._evaluate(tab.user_id, immediate=sid is None)

    async def _keep_drop_together(
        self, drops: MassDrops, token: str, grace: timedelta, keep: timedelta, now: datetime
    ) -> None:
        """A mass drop recognized at this close: the tabs that closed before it in its
        window, each taken back for its ordinary grace, are taken back (and get changes)
        as long as the drop's others (`MassDrops.kept_short`). One whose close was still
        being recorded then (its `unregister` in flight, with the shorter keep) extends
        its own once recorded: the drop has it as one of its tabs by now."""
        short = drops.kept_short()
        if drops.taken_back_for(token, grace) > keep:
            short.add(token)
        if short:
            await self.registry.keep_closed(short, now=now, keep=max(grace, drops.longest))

    async def tabs_dropped(self, tabs: Iterable[Tab], *, grace: timedelta) -> None:
        """Tabs whose sockets this instance closed while its registry could not be
        reached (a Redis outage), now that it can: each is recorded again as closed just
        now, so that it is taken back when it reconnects within `grace` (see
        `tab_reconnected`) and its user, if left without a tab, is shown offline after
        it. A registry that lost everything (Redis restarted empty) is told first what
        the users were (their tabs as they were): watchers who load meanwhile see them
        as before, not offline until their tabs are back."""
        tabs = list(tabs)
        now = self._clock()
        users = {tab.user_id for tab in tabs}
        for tab in tabs:
            await self.registry.register(tab, now=now, grace=grace)
        for user_id in users:
            await self._evaluate(user_id)  # publishes only what the registry lost
        for tab in tabs:
            await self.registry.unregister(tab.token, tab.sid, now=now, grace=grace)
        for user_id in users:
            await self._evaluate(user_id)

    async def set_idle(self, *, token: str, idle: bool) -> None:
        """A tab reported no input for the idle period (or input again)."""
        tab = await self.registry.set_idle(token, idle)
        if tab is not None:
            await self._evaluate(tab.user_id)

    async def set_chosen(self, *, user_id: int, status: str | None, until: datetime | None = None) -> None:
        """The user chose a status ("away", "dnd", "invisible"), or automatic (None).

        Raises:
            ValueError: Not a status a user may choose.
        """
        if status is not None and status not in CHOSEN_STATUSES:
            msg = f"not a status a user may choose: {status!r}"
            raise ValueError(msg)
        now = self._clock()
        before = await self.preferences.choose_status(user_id, status, until)
        going_invisible = status == Chosen.INVISIBLE and before.chosen != Chosen.INVISIBLE
        until = until if status else None
        self._timers.expire(user_id, until, now, self._evaluate)
        await self.registry.schedule_expiry(user_id, until)
        # Going invisible freezes the last seen here: nothing the user does while
        # invisible reaches anyone.
        await self._evaluate(
            user_id, immediate=going_invisible, invisible_since=now if going_invisible else None
        )

    async def set_hide_last_seen(self, *, user_id: int, hide: bool) -> None:
        """The user hides (or shows) their last-seen time: every watcher and the user's
        own tabs get it at once."""
        await self.preferences.choose_hide_last_seen(user_id, hide)
        for _ in range(_ATTEMPTS):
            record = await self.registry.record(user_id)
            if record.published is None or await self._publish(record, record.published.status, None):
                break
        if self._deliver_snapshot is not None and await self.registry.tokens_of([user_id]):
            self._deliveries.start(self._deliver_snapshot(user_id, await self.snapshot(user_id)))

    async def check(self, user_id: int, *, grace_due: datetime | None = None) -> None:
        """Evaluate a user again: for the sweep of a shared registry (a grace that fell
        due, perhaps on an instance that died; a chosen status that ended)."""
        await self._evaluate(user_id, due=grace_due)

    # Reading ------------------------------------------------------------------------

    async def status_of(self, user_id: int) -> Status:
        """The user's status as watchers see it now."""
        record = await self.registry.record(user_id)
        if record.published is not None:
            return record.published.status
        return await self._current_status(record)

    async def snapshot(self, user_id: int) -> dict[str, dict]:
        """The presence of the user and of everyone whose presence they may see
        (`services.audience.visible_to`), as this user may see it."""
        with self._session() as session:
            ids = visible_to(session, user_id) | {user_id}
            facts = store.load(session, ids)
        records = await self.registry.records(facts)
        hides = (await self.preferences.of(user_id)).hide_last_seen
        now = self._clock()
        return dict(
            shared_entry(
                self._entries,
                view(person, records[uid], now).to_wire(viewer_hides_last_seen=hides and uid != user_id),
            )
            for uid, person in facts.items()
        )

    # Deciding -----------------------------------------------------------------------

    async def _current_status(self, record: UserRecord) -> Status:
        choices = record.choices or await self.preferences.of(record.user_id)
        chosen = chosen_in_force(choices.chosen, choices.until, self._clock())
        if chosen is None and choices.chosen is not None:  # its time has passed
            # This changes the record: a decision made from it cannot be committed,
            # and the next read has the choice gone.
            await self.preferences.choose_status(record.user_id, None, None)
        return aggregate(record.tabs, chosen=chosen)

    async def _evaluate(
        self,
        user_id: int,
        *,
        immediate: bool = False,
        due: datetime | None = None,
        invisible_since: datetime | None = None,
    ) -> None:
        """Compare what watchers were told with what is true now, and publish if needed.

        Args:
            user_id: Whose presence may have changed.
            immediate: Offline without a grace (logging out, going invisible).
            due: This runs for a grace that fell due at this time.
            invisible_since: The user chose to appear offline at this moment.
        """
        for _ in range(_ATTEMPTS):
            record = await self.registry.record(user_id)
            current = await self._current_status(record)
            action = decide(
                record.published_status,
                current,
                grace_due=record.grace_due is not None,
                grace_over=due is not None and record.grace_due == due,
                immediate=immediate,
            )
            if record.grace_due is None:
                self._timers.cancel_grace(user_id)  # a tab came back: nothing is due
            if action == Action.START_GRACE and record.grace_due is not None:
                self._timers.grace(user_id, record.grace_due, self._wait(record.grace_due), self.check)
                return
            if action != Action.PUBLISH:
                return
            if current == Status.OFFLINE and due is not None and await self._put_off(record, due):
                return
            last_seen = None
            if current == Status.OFFLINE:
                last_seen = offline_last_seen(record.ended_at, invisible_since, bool(record.tabs))
            if await self._publish(record, current, last_seen):
                return
        logger.warning("presence of user %s kept changing: left to the latest change", user_id)

    async def _put_off(self, record: UserRecord, due: datetime) -> bool:
        """A grace fell due while the mass drop it belongs to is still coming back
        (`MassDrops.put_off`): move the offline later and wait for it again."""
        if self._drops is None or record.ended_at is None or record.grace_due != due:
            return False
        until = self._drops.put_off(record.ended_at, self._clock())
        if until is None or until <= due or not await self.registry.postpone(record.user_id, due, until):
            return False
        self._timers.grace(record.user_id, until, self._wait(until), self.check)
        return True

    def _wait(self, due: datetime) -> float:
        """Seconds until `due`, at most the longest grace (the clock of tests stands still)."""
        left = (due - self._clock()).total_seconds()
        return min(self._longest_grace.total_seconds(), max(0.0, left))

    async def _publish(self, record: UserRecord, status: Status, ended_at: datetime | None) -> bool:
        """Commit a new published status and deliver it; False if the record changed
        since it was read (nothing was published then)."""
        user_id = record.user_id
        # One read for everything the decision and its delivery need; a write after the
        # commit only when a last seen changes.
        with self._session() as session:
            facts = store.load(session, [user_id]).get(user_id)
            if facts is None:
                return True
            receivers = watchers_of(session, user_id, facts.presence_audience) | {user_id}
            hiders = store.hiding_last_seen(session, receivers - {user_id})
        last_seen = facts.last_seen_at
        if ended_at is not None and (last_seen is None or ended_at > last_seen):
            last_seen = ended_at  # as stored below: the last seen never moves backwards
        published = Published(
            status=status,
            version=next_version(record.version, time.time_ns() // 1000),
            last_seen_at=last_seen,
        )
        if not await self.registry.commit(record, published):
            return False
        # Coming online from offline (a first tab, or the end of "appear offline"): "seen
        # now" is written at once, not at the next periodic flush, so that a crash before
        # then (SIGKILL: no flush on shutdown) never leaves someone who was online without
        # a last seen. Once per coming online, not per tab: further tabs publish nothing.
        coming_online = status != Status.OFFLINE and record.published_status == Status.OFFLINE
        if ended_at is not None or coming_online:
            with self._session() as session:
                store.save_last_seen(session, [user_id], ended_at or self._clock())
        data = view(facts, UserRecord(user_id=user_id, published=published), self._clock())
        # Hiding is mutual: viewers who hide their own last seen get the entry without it.
        for group, hides in ((receivers - hiders, False), (hiders, True)):
            if group:
                # A task, not an await: the change may come from an event handler of one
                # of these very tabs, which holds that tab's state lock until it returns.
                # Receivers keep the newest by version if deliveries overtake each other.
                self._deliveries.start(self._deliver(group, data.to_wire(viewer_hides_last_seen=hides)))
        return True

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished."""
        await self._deliveries.drain()

    # Housekeeping -------------------------------------------------------------------

    async def flush_last_seen(self) -> None:
        """Write "seen now" for every user connected to this instance, so that a crash
        loses little (not for users who appear offline: their last seen stays frozen)."""
        records = await self.registry.records(await self.registry.local_users())
        connected = [
            uid
            for uid, record in records.items()
            if (record.choices or await self.preferences.of(uid)).chosen != Chosen.INVISIBLE
        ]
        if connected:
            with self._session() as session:
                store.save_last_seen(session, connected, self._clock())

    async def close(self) -> None:
        """On shutdown: record everyone connected as seen now, end this instance's tabs,
        and stop the timers."""
        await self._timers.close()
        await self.flush_last_seen()
        pending = await self.registry.release(now=self._clock(), grace=self.grace)
        with self._session() as session:
            for uid, at in pending.items():
                if not await self.preferences.invisible(uid):
                    store.save_last_seen(session, [uid], at)
