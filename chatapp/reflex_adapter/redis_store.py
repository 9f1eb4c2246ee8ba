"""What Reflex's Redis state manager needs again after Redis came back.

Reflex turns on Redis's keyspace notifications once per process (a `CONFIG SET`) and
remembers that it did; a Redis restarted without them never tells a waiting instance
that a tab's lock was released (it waits out the lock's expiry, seconds) or that
another instance wants a lease it holds. `came_back` turns them on again. The
internals are listed in `internals` with a contract test.
"""

from __future__ import annotations

import reflex as rx


async def came_back(app: rx.App) -> bool:
    """Turn Reflex's keyspace notifications on again (Redis may have restarted empty).

    Returns:
        Whether there was anything to do (False: state is not kept in Redis).
    """
    from reflex.istate.manager.redis import StateManagerRedis

    manager = app.state_manager
    if not isinstance(manager, StateManagerRedis):
        return False
    manager._redis_notify_keyspace_events_enabled = False
    await manager._enable_keyspace_notifications()
    return True
