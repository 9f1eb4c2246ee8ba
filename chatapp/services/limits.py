"""Rate limits and login throttling, shared by every instance.

Built on the `limits` package (moving windows, `limits.aio`). With a Redis URL the
counts live in Redis under a key prefix of the deployment's own (`async+redis://`,
through redis-py's asyncio client, which the app already uses), so every instance and
worker sees the same counts; without one they live in this process. `serving` (a
lifespan task) or `configure` chooses once at startup; until then the limits are in
memory. Timestamps are the hosts' clocks (`time.time()`), so instances must keep them
in sync (NTP), as presence already requires.

Keys are what an attacker cannot multiply: a user id (not a tab: one login with 30
sockets still gets 20 messages per 10 s), a normalized username, a client address (an
IPv6 address counts by its /64, which one subscriber usually holds whole). Callers
build them: `f"user:{user_id}"`, `address_key(ip)`.

Rules (per key, moving windows; a test or a setting makes others with
`dataclasses.replace(MESSAGES, amount=3)`):

| Rule | Limit | Key |
|---|---|---|
| `MESSAGES` | 20 per 10 s | user |
| `STATUS_CHANGES` | 30 per minute (status menu, "hide my last seen") | user |
| `IDLE_REPORTS` | 120 per minute (a tab's idle/active reports; over it they are dropped) | user |
| `TYPING` | 60 per minute (typing started / stopped; over it they are dropped) | user |
| `SIGNUPS` | 5 per hour | address |
| `CONVERSATION_CREATION` | 20 per hour (direct chats and groups) | user |
| `PEOPLE_SEARCH` | 30 per minute (the people picker's searches, one per pause in typing) | user |
| `MEMBERSHIP_CHANGES` | 60 per hour (adding people to groups; leaving is never limited) | user |
| `PASSWORD_CHECKS` | 10 per hour (changing the password checks the current one) | user |

Logins are throttled in `login_throttle` on the same limiter.

`wait_text` is pure; the windows are the package's, kept in Redis or, without it, in
`process_windows`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from chatapp import redis_pool
from chatapp.services.errors import ChatError
from chatapp.services.process_windows import ProcessWindows

DEFAULT_PREFIX = "chatapp:limits"


def wait_text(seconds: float) -> str:
    """How long to wait, for people: whole seconds up to two minutes, then minutes.

    Args:
        seconds: The wait; anything below one second reads as "1 s".

    Returns:
        Text such as "8 s" or "5 min".
    """
    whole = max(1, math.ceil(seconds))
    return f"{whole} s" if whole < 120 else f"{math.ceil(whole / 60)} min"


class RateLimited(ChatError):
    """Too many requests; nothing was done.

    Attributes:
        retry_after: Seconds until the request would be allowed.
    """

    def __init__(self, retry_after: float, what: str = "requests") -> None:
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"Too many {what}. Try again in {wait_text(self.retry_after)}.")


@dataclass(frozen=True)
class Rule:
    """At most `amount` per `seconds` (a moving window), for each key.

    Attributes:
        name: Part of every storage key: unique per rule.
        amount: How many in any window.
        seconds: The window's length.
        what: The plural noun of the refusal ("Too many {what}. ...").
    """

    name: str
    amount: int
    seconds: int
    what: str

    @property
    def item(self) -> RateLimitItem:
        """The `limits` item of the rule (its amount and window are in its keys)."""
        return RateLimitItemPerSecond(self.amount, self.seconds, namespace=self.name)


# A person types far slower; a script is cut off after a burst, and others are unaffected.
MESSAGES = Rule("messages", 20, 10, "messages")
STATUS_CHANGES = Rule("status", 30, 60, "status changes")
# A tab reports at most two transitions per idle period (5 min), plus one per reload, so
# even many tabs stay far below this; a script flapping its idle state is dropped
# silently. Generous, because a dropped report leaves a status wrong until the next one.
IDLE_REPORTS = Rule("idle", 120, 60, "idle reports")
# A browser sends "typing" at most every 3 s while typing goes on, and "stopped" once per
# pause: about 40 a minute for someone typing non-stop in one tab. Dropped over it.
TYPING = Rule("typing", 60, 60, "typing reports")
# A list reports the rows on screen at most 4 times a second while it scrolls (and once
# per load); each report changes only the tab's own state. Dropped over it.
ROWS_IN_VIEW = Rule("rows-in-view", 240, 60, "reports of the rows on screen")
SIGNUPS = Rule("signups", 5, 3600, "sign-ups")
CONVERSATION_CREATION = Rule("conversations", 20, 3600, "new conversations")
# A search tells who has an account: counted, so that the app cannot be used to list its
# users quickly.
PEOPLE_SEARCH = Rule("people-search", 30, 60, "searches")
# Each addition refreshes presence and lists in every member's tabs, and adding people
# again and again is harassment. Leaving is not limited: whoever is added must be free
# to leave as often.
MEMBERSHIP_CHANGES = Rule("membership", 60, 3600, "additions to groups")
# Whoever holds a session (a borrowed laptop, a stolen cookie) must not be able to guess
# the current password there and take the account over.
PASSWORD_CHECKS = Rule("password-checks", 10, 3600, "password attempts")


def address_key(address: str) -> str:
    """The key of a client address: IPv4 as is, IPv6 by its /64 network.

    One subscriber usually holds a whole /64 and can use any address in it, so a limit
    per IPv6 address would be a limit per nothing. An IPv4-mapped IPv6 address is its
    IPv4 address. Anything that is not an address ("unknown") is kept, escaped.

    Args:
        address: The client's address as the server saw it.

    Returns:
        A key such as "addr:203.0.113.7" or "addr:2001:db8:1:2::".
    """
    raw = address.strip()
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return "addr:" + quote(raw.lower()[:64], safe="")
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.IPv6Network((ip, 64), strict=False).network_address}"
    return f"addr:{ip}"


class Limiter:
    """Moving-window counts in one storage (memory, or Redis shared by instances).

    Args:
        storage: An async `limits` storage.
        pool: The Redis connection pool the storage uses, closed by `close`.
    """

    def __init__(self, storage: Storage, pool: ConnectionPool | None = None) -> None:
        self.storage = storage
        self._pool = pool
        self._windows = MovingWindowRateLimiter(storage)

    @classmethod
    def in_memory(cls) -> Limiter:
        """Counts in this process only."""
        return cls(ProcessWindows())

    @classmethod
    def on_redis(cls, redis_url: str, prefix: str = DEFAULT_PREFIX) -> Limiter:
        """Counts in Redis, shared with every limiter of the same URL and prefix.

        Args:
            redis_url: A redis-py URL (`redis://`, `rediss://`, `unix://`), as Reflex takes.
            prefix: Starts every key: one per deployment sharing a Redis.

        Returns:
            The limiter; it connects on first use.
        """
        # Our own pool, so that `close` can release it (the storage has no close); bounded.
        pool = redis_pool.bounded_pool(redis_url)
        scheme, sep, rest = redis_url.partition("://")
        uri = f"async+{'redis+unix' if scheme == 'unix' else scheme}{sep}{rest}"
        storage = RedisStorage(uri, implementation="redispy", key_prefix=prefix, connection_pool=pool)
        return cls(storage, pool)

    async def close(self) -> None:
        """Release the Redis connections (nothing to do in memory)."""
        if self._pool is not None:
            await self._pool.aclose()

    async def hit(self, rule: Rule, key: str, cost: int = 1) -> bool:
        """Count `cost` if the window has room for it (atomically, across instances).

        Args:
            rule: The rule.
            key: Whose count (`"user:42"`, `address_key(ip)`).
            cost: How many to count. More than the whole allowance counts as the whole
                allowance: such a request passes once in an empty window, never more.

        Returns:
            Whether it was counted.
        """
        cost = min(max(1, cost), rule.amount)
        return await self._windows.hit(rule.item, key, cost=cost)

    async def used(self, rule: Rule, key: str) -> int:
        """How many were counted in the current window."""
        stats = await self._windows.get_window_stats(rule.item, key)
        return rule.amount - stats.remaining

    async def first_hit(self, rule: Rule, key: str) -> float | None:
        """When the oldest hit still in the window was counted (None if there is none)."""
        stats = await self._windows.get_window_stats(rule.item, key)
        return stats.reset_time - rule.seconds if stats.remaining < rule.amount else None

    async def retry_after(self, rule: Rule, key: str) -> float:
        """Seconds until one more is allowed (0 when it is now; a lower bound for a
        cost above one)."""
        stats = await self._windows.get_window_stats(rule.item, key)
        return 0.0 if stats.remaining > 0 else max(0.0, stats.reset_time - time.time())

    async def take(self, rule: Rule, key: str, cost: int = 1) -> None:
        """Count one request (or `cost`), or refuse it.

        Raises:
            RateLimited: Over the limit; nothing was counted.
        """
        if not await self.hit(rule, key, cost):
            raise RateLimited(await self.retry_after(rule, key), rule.what)

    async def reset(self, rule: Rule, key: str) -> None:
        """Forget a key's count."""
        await self._windows.clear(rule.item, key)


# The process's limiter: in memory until `configure` or `serving` says otherwise.
_limiter = Limiter.in_memory()


def current() -> Limiter:
    """The limiter the module-level functions use."""
    return _limiter


def configure(redis_url: str | None, prefix: str = DEFAULT_PREFIX) -> Limiter:
    """Choose where counts live, once at startup: Redis when a URL is given, else memory.

    Args:
        redis_url: `settings.redis_url` (empty or None: this process only).
        prefix: The key prefix in Redis (`CHATAPP_LIMITS_PREFIX`).

    Returns:
        The new limiter (the previous one is not closed).
    """
    global _limiter
    _limiter = Limiter.on_redis(redis_url, prefix) if redis_url else Limiter.in_memory()
    return _limiter


@contextlib.asynccontextmanager
async def serving(redis_url: str | None, prefix: str = DEFAULT_PREFIX) -> AsyncIterator[Limiter]:
    """A lifespan task: `configure` at startup; at shutdown close it and go back to memory."""
    global _limiter
    limiter = configure(redis_url, prefix)
    try:
        yield limiter
    finally:
        await limiter.close()
        _limiter = Limiter.in_memory()


async def take(rule: Rule, key: str, cost: int = 1) -> None:
    """Count one request for `key` under `rule`.

    Raises:
        RateLimited: Over the limit; nothing was counted.
    """
    await _limiter.take(rule, key, cost)


async def retry_after(rule: Rule, key: str) -> float:
    """Seconds until `key` may make one more request under `rule` (0: now)."""
    return await _limiter.retry_after(rule, key)


async def reset(rule: Rule, key: str) -> None:
    """Forget `key`'s count under `rule`."""
    await _limiter.reset(rule, key)
