"""The background task that tracks every tab's websocket session for presence.

Registered with `app.register_lifespan_task`: it creates the process's
`PresenceService`, hooks socket disconnects into it, writes last-seen times
periodically, and flushes them on shutdown. With a Redis URL (several instances) the
registry is shared in Redis and the instance beats and sweeps (`sweeper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import reflex as rx

from chatapp.models import utcnow
from chatapp.presence import fanout, socket_hooks
from chatapp.presence.cleanup import ClosedTabCleanup
from chatapp.presence.redis_registry import RedisRegistry
from chatapp.presence.service import PresenceService
from chatapp.presence.shared import PresenceRegistry
from chatapp.presence.sweeper import Sweeper, Timing
from chatapp.settings import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Running:
    """What the tracker runs, while the server runs."""

    app: rx.App
    service: PresenceService
    loop: asyncio.AbstractEventLoop


_running: Running | None = None


def running() -> Running:
    """The app, presence service and event loop of this process.

    Raises:
        RuntimeError: Before the app started (outside a running server).
    """
    if _running is None:
        msg = "the presence tracker is not running"
        raise RuntimeError(msg)
    return _running


def get_service() -> PresenceService:
    """The running presence service of this process."""
    return running().service


def get_app() -> rx.App:
    """The running app (for pushing into tabs from event handlers)."""
    return running().app


def get_loop() -> asyncio.AbstractEventLoop:
    """The event loop the service runs on (to reach it from another thread)."""
    return running().loop


def make_shared_registry() -> RedisRegistry | None:
    """The presence registry in Redis when a Redis URL is set, else None (one process)."""
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    return RedisRegistry(Redis.from_url(settings.redis_url), prefix=settings.presence_prefix)


def make_service(app: rx.App, registry: PresenceRegistry | None = None) -> PresenceService:
    """A presence service that delivers into this app's tabs (registry: in this process
    if None)."""
    from chatapp.states.app_state import AppState, presence_delta  # states import this module

    async def deliver(tokens: list[str], entry: dict) -> None:
        await fanout.push(
            app,
            tokens,
            AppState,
            apply_in_place=lambda state: state.apply_presence_in_place(entry),
            apply=lambda state: state.handle_presence_changed(entry),
            delta=presence_delta(entry),
        )

    async def deliver_snapshot(tokens: list[str], snapshot: dict[str, dict]) -> None:
        await fanout.deliver(app, tokens, AppState, lambda state: state._replace_presence(snapshot))

    return PresenceService(
        deliver=deliver,
        deliver_snapshot=deliver_snapshot,
        session_factory=rx.session,
        grace=timedelta(seconds=settings.presence_grace),
        registry=registry,
    )


@contextlib.asynccontextmanager
async def presence_tracker(app: rx.App) -> AsyncIterator[None]:
    """Lifespan task: run the presence service for as long as the server runs."""
    global _running
    shared = make_shared_registry()
    service = make_service(app, shared)
    sweeper = None
    if shared is not None:
        timing = Timing(
            beat=settings.presence_heartbeat,
            ttl=settings.presence_instance_ttl,
            sweep=settings.presence_sweep,
        )
        sweeper = Sweeper(service, shared, timing, utcnow)
        await sweeper.start()
    _running = Running(app=app, service=service, loop=asyncio.get_running_loop())

    async def on_open(token: str, sid: str) -> None:
        await service.tab_reconnected(token=token, sid=sid)

    async def on_close(token: str, sid: str) -> None:
        await service.mark_offline(token=token, sid=sid)
        # A tab that has not come back within the grace is gone: its state need not be
        # kept for Reflex's hour (a reload or a short network loss is back well before).
        await asyncio.sleep(settings.presence_grace + 1)
        if socket_hooks.forget_soon(app, token, settings.tab_state_ttl):
            cleanup.tab_closed()

    cleanup = ClosedTabCleanup(lambda: socket_hooks.open_sockets(app), delay=settings.tab_state_ttl + 5)
    socket_hooks.install(
        app, on_open=on_open, on_close=on_close, max_per_address=settings.max_sockets_per_address
    )
    flusher = asyncio.create_task(_flush_periodically(service), name="presence_flush")
    try:
        yield
    finally:
        cleanup.stop()
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        if sweeper is not None:
            await sweeper.stop()
        await service.close()
        if shared is not None:
            await shared.redis.aclose()
        _running = None


async def _flush_periodically(service: PresenceService) -> None:
    while True:
        await asyncio.sleep(settings.last_seen_flush)
        try:
            await service.flush_last_seen()
        except Exception:
            logger.exception("writing last-seen times failed")
