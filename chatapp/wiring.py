"""The composition root: what runs while the server runs, and how the parts are joined.

`install(app)` registers two lifespan tasks with the app:
- `serving(app)`: checks the Reflex internals the adapter needs
  (`reflex_adapter.internals`), makes the presence service (its registry in Redis when
  `REFLEX_REDIS_URL` is set, with the instance's heartbeat and sweeps, which release a
  dead instance's tab locks), the push API
  over the app's tabs, hooks the sockets' open and close into the service, writes
  last-seen times periodically and on shutdown, and lets closed tabs' states go.
- the rate limits (`limits.serving`), in Redis when there is one.

With Redis, `serving` also watches it (`chatapp.outage`): an outage closes this
instance's sockets and refuses new ones until Redis answers again, then puts back what
Redis lost before letting the tabs reconnect.

A presence change flows one way: socket hook → `PresenceService` → its store and
registry → `Push.to_users` → the adapter → the tabs (with Redis, also the push
channel → every other instance's `Push.received` → its own tabs). Nothing below this module calls
back up into it; states reach the running parts through `chatapp.runtime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import reflex as rx

from chatapp import outage, redis_pool, runtime
from chatapp.background import Deadlines
from chatapp.delivery import Push
from chatapp.loop_lag import LoopLag
from chatapp.models import utcnow
from chatapp.presence.cleanup import ClosedTabCleanup
from chatapp.presence.drops import MassDrops
from chatapp.presence.logic import Tab
from chatapp.presence.redis_registry import RedisRegistry
from chatapp.presence.registry import InProcessRegistry
from chatapp.presence.service import PresenceService
from chatapp.presence.shared import PresenceRegistry
from chatapp.presence.sweeper import Sweeper, Timing
from chatapp.push_bus import RedisBus, channel_of
from chatapp.reflex_adapter import hydrate, internals, redis_store, sockets, tabs, turns
from chatapp.services import limits
from chatapp.settings import settings
from chatapp.states import page_loads
from chatapp.states.app_state import expire_custom_statuses, presence_change, presence_snapshot

logger = logging.getLogger(__name__)


def install(app: rx.App) -> None:
    """Register what runs while the server runs; hydrates take turns (`page_loads`)."""
    hydrate.wrap(page_loads.hydrate_in_turn)
    turns.install(page_loads.turn_of)
    app.register_lifespan_task(serving)
    app.register_lifespan_task(limits.serving, redis_url=settings.redis_url, prefix=settings.limits_prefix)


def make_shared_registry() -> RedisRegistry | None:
    """The presence registry in Redis when a Redis URL is set, else None (one process)."""
    if not settings.redis_url:
        return None
    return RedisRegistry(redis_pool.client(settings.redis_url), prefix=settings.presence_prefix)


def make_push_bus() -> RedisBus | None:
    """The push channel in Redis when a Redis URL is set, else None (one process).

    It has a pool of its own: on the registry's, a storm's registry writes made publishes
    wait past the pool's timeout, and each failed publish was a change the other
    instances never got (docs/instances.md)."""
    if not settings.redis_url:
        return None
    return RedisBus(redis_pool.client(settings.redis_url), channel=channel_of(settings.presence_prefix))


def make_presence(push: Push, registry: PresenceRegistry) -> PresenceService:
    """A presence service over `registry` that delivers through the push API."""
    return PresenceService(
        deliver=lambda user_ids, entry: push.to_users(user_ids, presence_change(entry)),
        deliver_snapshot=lambda user_id, snapshot: push.to_users([user_id], presence_snapshot(snapshot)),
        session_factory=rx.session,
        grace=timedelta(seconds=settings.presence_grace),
        registry=registry,
        drops=MassDrops(
            window=timedelta(seconds=MASS_DROP_WINDOW),
            burst=MASS_DROP_BURST,
            stretched=timedelta(seconds=settings.presence_storm_grace),
            longest=timedelta(seconds=settings.presence_storm_grace_max),
            share=MASS_DROP_SHARE,
            still_open=lambda: sockets.open_sockets(push.app),
        ),
    )


# A mass drop: at least this many of an instance's sockets, and at least this share of
# them, closing within this many seconds (a restart, a network cut); their graces are
# stretched (`chatapp.presence.drops`).
MASS_DROP_BURST = 50
MASS_DROP_SHARE = 0.25
MASS_DROP_WINDOW = 2.0


@contextlib.asynccontextmanager
async def serving(app: rx.App) -> AsyncIterator[None]:
    """Lifespan task: the presence service and the push API, for as long as the server runs.

    Raises:
        internals.ReflexChanged: This Reflex lacks an internal the adapter needs.
    """
    internals.check_at_startup(app)
    shared = make_shared_registry()
    # The registry knows every tab of every user: it is the push API's directory too.
    registry: PresenceRegistry = shared if shared is not None else InProcessRegistry()
    bus = make_push_bus()
    instance_id = shared.instance_id if shared is not None else ""
    push = Push(app, directory=registry, bus=bus, instance_id=instance_id)
    # A lost subscription loses what is published meanwhile: no closed tab is current.
    listener = (
        None
        if bus is None or shared is None
        else asyncio.create_task(bus.listen(push.received, on_lost=shared.changes_lost), name="push_bus")
    )
    service = make_presence(push, registry)
    sweeper = None
    renewer = None
    if shared is not None:
        timing = Timing(
            beat=settings.presence_heartbeat,
            ttl=settings.presence_instance_ttl,
            sweep=settings.presence_sweep,
        )
        # Every tab lock this instance takes says so, and a sweep that reaps a dead
        # instance releases the locks it held: its tabs come back elsewhere without
        # waiting out the locks' expiry (long with the leases of rxconfig.py).
        redis_store.tag_locks(app, shared.instance_id)
        # ... answers another event's request for a tab it leases without holding up its
        # lock notifications, and never while the lease writes the tab back.
        redis_store.answer_aside(app)
        # ... and a write-back of a tab state that found the Redis pool busy waits again
        # instead of losing the lease's changes.
        redis_store.patient_write_backs(app)
        # ... and keeps the locks of its leases while it holds them (a busy event loop
        # writes a lease back late).
        renewer = asyncio.create_task(redis_store.keeping_leases(app, shared.instance_id), name="lease_locks")
        sweeper = Sweeper(
            service, shared, timing, utcnow, on_reaped=lambda dead: redis_store.release_locks_of(app, dead)
        )
        await sweeper.start()
    ends = Deadlines(utcnow, push.soon)
    runtime.started(runtime.Runtime(presence=service, push=push, loop=asyncio.get_running_loop(), ends=ends))
    watch = None if shared is None or sweeper is None else _watch_redis(app, shared, service, sweeper)

    def redis_down() -> bool:
        return watch is not None and watch.down

    async def on_open(token: str, sid: str) -> None:
        await service.tab_reconnected(token=token, sid=sid)

    async def on_close(token: str, sid: str) -> None:
        if redis_down():  # closed by the outage (or meanwhile): `_watch_redis` takes it back
            return
        await service.mark_offline(token=token, sid=sid)
        # A tab that has not come back within the grace is gone: its state need not be
        # kept for Reflex's hour (a reload or a short network loss is back well before).
        asyncio.get_running_loop().call_later(settings.presence_grace + 1, forget_unless_back, token)

    def forget_unless_back(token: str) -> None:
        if sockets.forget_soon(app, token, settings.tab_state_ttl):
            cleanup.tab_closed()

    cleanup = ClosedTabCleanup(lambda: sockets.open_sockets(app), delay=settings.tab_state_ttl + 5)
    # A loop running behind takes no new sockets until it catches up (`chatapp.loop_lag`).
    lag = LoopLag(settings.max_loop_lag)
    lag_task = asyncio.create_task(lag.run(), name="loop_lag")

    def refusal() -> str | None:
        return (watch.refusal() if watch is not None else None) or lag.refusal()

    sockets.install(
        app,
        on_open=on_open,
        on_close=on_close,
        max_per_address=settings.max_sockets_per_address,
        refuse=refusal,
        # With Redis, socket handlers leave half the pool's connections to the rest (and
        # Reflex's links of sockets to tabs take a quarter of Reflex's pool).
        at_once=settings.redis_max_connections // 2 if shared is not None else 0,
    )
    # With Redis, deliveries the long way leave half of Reflex's pool to events and the
    # write-backs of leases (never bounded if events are not marked: see `tabs.bound`).
    tabs.bound(settings.redis_max_connections // 2 if shared is not None and turns.installed() else 0)
    flusher = asyncio.create_task(_flush_periodically(service, redis_down), name="presence_flush")
    expirer = asyncio.create_task(_expire_custom_periodically(redis_down), name="custom_status_expiry")
    if watch is not None:
        watch.start()
    try:
        yield
    finally:
        if watch is not None:
            await watch.stop()
        ends.close()
        cleanup.stop()
        tabs.bound(0)
        for task in (flusher, expirer, lag_task, *(t for t in (listener, renewer) if t is not None)):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if sweeper is not None:
            await sweeper.stop()
        await service.close()
        await push.drain()
        if shared is not None:
            await shared.redis.aclose()
        if bus is not None:
            await bus.redis.aclose()
        runtime.started(None)


# How often each instance clears the custom statuses that have ended (the browsers hide
# an ended one at once by themselves; this tells the tabs and clears the database).
CUSTOM_STATUS_SWEEP = 15.0


def _watch_redis(
    app: rx.App, registry: RedisRegistry, service: PresenceService, sweeper: Sweeper
) -> outage.RedisWatch:
    """A watch on Redis that handles an outage for this instance (`chatapp.outage`)."""
    dropped: list[Tab] = []

    async def on_down() -> None:
        # This instance's tabs, as the registry knew them, before their sockets go.
        dropped[:] = list(registry.own.values())
        # Changes published from here on may be lost: no tab closed here is current.
        registry.changes_lost()
        closed = await sockets.drop_all(app)
        logger.warning("Redis is down: closed %d sockets; refusing new ones until it answers", closed)

    async def on_back() -> None:
        await redis_store.came_back(app)
        await sweeper.recovered()
        await service.tabs_dropped(dropped, grace=timedelta(seconds=outage.RECOVERY_GRACE))
        # Taken back without a blink, but not current: each page loads everything again.
        registry.changes_lost()
        dropped.clear()

    return outage.RedisWatch(outage.redis_ping(settings.redis_url), on_down=on_down, on_back=on_back)


async def _expire_custom_periodically(paused=lambda: False) -> None:
    while True:
        await asyncio.sleep(CUSTOM_STATUS_SWEEP)
        if paused():
            continue
        try:
            await expire_custom_statuses(utcnow())
        except Exception:  # a database hiccup: the next round clears what is left
            logger.exception("clearing ended custom statuses failed")


async def _flush_periodically(service: PresenceService, paused=lambda: False) -> None:
    while True:
        await asyncio.sleep(settings.last_seen_flush)
        if paused():
            continue
        try:
            await service.flush_last_seen()
        except Exception:
            logger.exception("writing last-seen times failed")
