"""Every Redis client of the app takes its connections from a bounded pool.

redis-py's asyncio client opens a new connection whenever every one it holds is busy,
without a limit. In a reconnect storm every tab's events, deliveries and Reflex's own
socket records want Redis at once: at 5,000 tabs on two instances the instances opened
more than Redis's 10,000 clients, Redis refused the rest ("max number of clients
reached"), sockets and the push channel's subscription were lost, and the storm never
ended (docs/instances.md, 2026-12-06). A blocking pool makes a caller wait for a free
connection instead; a few dozen connections already keep one Redis busy.

Reflex's own client is bounded by rxconfig.py with the same figures
(`REFLEX_REDIS_MAX_CONNECTIONS`, `REFLEX_REDIS_POOL_TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.exceptions
from redis.asyncio import BlockingConnectionPool, Redis

from chatapp.settings import settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
# The pause between two tries of `patiently` (each try waits the pool's own timeout).
_AGAIN_AFTER = 0.05


def bounded_pool(url: str) -> BlockingConnectionPool:
    """A pool of at most `CHATAPP_REDIS_MAX_CONNECTIONS` connections to `url`; a caller
    waits up to `CHATAPP_REDIS_POOL_TIMEOUT` seconds for a free one (then an error)."""
    return BlockingConnectionPool.from_url(
        url, max_connections=settings.redis_max_connections, timeout=settings.redis_pool_timeout
    )


def client(url: str) -> Redis:
    """An asyncio Redis client on its own bounded pool (closing it closes the pool)."""
    return Redis.from_pool(bounded_pool(url))


def pool_timed_out(exc: BaseException) -> bool:
    """Whether `exc` is a bounded pool's "no free connection" (redis-py raises it before
    it sends anything), not a failure of a command on a connection: what waited may try
    again. (tests/contract/test_redis_leases.py checks redis-py's text.)"""
    return (
        isinstance(exc, redis.exceptions.ConnectionError)
        and isinstance(exc.__cause__, TimeoutError)
        and "No connection available" in str(exc)
    )


async def patiently(
    attempt: Callable[[], Awaitable[T]],
    patience: float,
    *,
    may_try_again: Callable[[BaseException], bool] = pool_timed_out,
    what: str = "a Redis call",
) -> T:
    """`attempt()`, tried again while it fails as `may_try_again` allows (by default: the
    pool had no free connection, so nothing was sent), for up to `patience` seconds from
    the first failure; then its error is raised."""
    give_up: float | None = None
    tries = 1
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            now = time.monotonic()
            give_up = now + patience if give_up is None else give_up
            if not may_try_again(exc) or now >= give_up:
                raise
            tries += 1
            await asyncio.sleep(_AGAIN_AFTER)
            continue
        if tries > 1:
            logger.info("%s went through at try %d, after the pool had no connection", what, tries)
        return result
