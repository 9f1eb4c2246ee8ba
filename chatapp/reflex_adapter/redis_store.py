"""What Reflex's Redis state manager needs again after Redis came back.

- Reflex turns on Redis's keyspace notifications once per process (a `CONFIG SET`) and
  remembers that it did; a Redis restarted without them never tells a waiting instance
  that a tab's lock was released (it waits out the lock's expiry, seconds) or that
  another instance wants a lease it holds. `came_back` turns them on again.
- With opportunistic locks, this instance keeps the states of the tabs it leases (and
  their locks). A Redis restarted empty no longer has those locks: another instance
  would take the lock and work on the state in Redis while this one kept its copy, two
  states for one tab. `came_back` gives every lease up without writing its copy back
  (the outage closed every socket; each tab's page load rebuilds its state) and
  releases its lock where it still exists.

- A handler that waits on purpose while it holds its tab (a page load waiting for its
  turn in a reconnect storm, `states/page_loads.py`) must not lose the tab's lock to its
  expiry (10 s): the state it then made was refused (`LockExpiredError`) and the tab
  was left half loaded. `lock_kept` renews the lock while it waits.

The internals are listed in `internals` with a contract test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import reflex as rx

from chatapp.reflex_adapter import internals

logger = logging.getLogger(__name__)


async def came_back(app: rx.App) -> bool:
    """Turn Reflex's keyspace notifications on again and give up this instance's leases
    (Redis may have restarted empty).

    Returns:
        Whether there was anything to do (False: state is not kept in Redis).
    """
    from reflex.istate.manager.redis import StateManagerRedis

    manager = app.state_manager
    if not isinstance(manager, StateManagerRedis):
        return False
    manager._redis_notify_keyspace_events_enabled = False
    await manager._enable_keyspace_notifications()
    await forget_leases(manager)
    return True


async def forget_leases(manager: object) -> int:
    """End every lease of this instance without writing its state back.

    Returns:
        How many leases were ended.
    """
    leases = getattr(manager, "_local_leases", None)
    cached = getattr(manager, "_cached_states", None)
    if not isinstance(leases, dict) or not isinstance(cached, dict):
        return 0
    tasks = list(leases.values())
    # A lease's end writes back the state it finds cached: none is left to find.
    cached.clear()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    logger.info("gave up %d leases of tab states", len(tasks))
    return len(tasks)


def locks_expire(app: rx.App) -> bool:
    """Whether tabs' locks expire here (state kept in Redis), so a long wait needs
    `lock_kept`."""
    from reflex.istate.manager.redis import StateManagerRedis

    return isinstance(app.state_manager, StateManagerRedis)


@contextlib.asynccontextmanager
async def lock_kept(app: rx.App, token: str) -> AsyncIterator[None]:
    """Renew the tab's lock in Redis while inside (a third of its expiry at a time),
    for a handler that holds its tab and waits. Nothing to do without Redis."""
    from reflex.istate.manager.redis import StateManagerRedis

    manager = app.state_manager
    if not isinstance(manager, StateManagerRedis) or not internals.redis_renewal_fits(manager):
        yield
        return
    lock_key = manager._lock_key(rx.BaseStateToken(ident=token, cls=rx.State))
    every = max(manager.lock_expiration / 3000, 0.05)

    async def renew() -> None:
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):  # Redis away: the outage handles the tab
                await manager._try_extend_lock(lock_key)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
