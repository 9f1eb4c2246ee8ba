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
| `SIGNUPS` | 5 per hour | address |
| `CONVERSATION_CREATION` | 20 per hour (direct chats and groups) | user |
| `MEMBER_SEARCH` | 60 usernames looked up per minute (cost = names in the request) | user |
| `MEMBERSHIP_CHANGES` | 60 per hour (adding people to groups; leaving is never limited) | user |
| `PASSWORD_CHECKS` | 10 per hour (changing the password checks the current one) | user |

Logins (`LoginThrottle`, numbers in `LoginPolicy`). What others do: Zulip's default
rule is 5 failed logins per username per 30 minutes from anywhere, and django-axes
locks after 3 failures (`AXES_FAILURE_LIMIT`) per IP address by default, per username
or per username and IP address together if configured, until a cool-off or an admin
reset. A lock per username lets any stranger lock the owner out; one per address
punishes everyone behind a shared address; one per (username, address) alone lets a
botnet guess forever. The OWASP Authentication Cheat Sheet warns that lockouts are a
denial of service in their own right and suggests growing delays instead; OWASP's
"device cookies" keep a client that logged in before working while strangers are
locked; NIST SP 800-63B (5.2.2) caps consecutive failures per account at 100. Here:

- Per (username, address): the first 3 failures cost nothing, then each further one
  makes the next attempt wait 1, 2, 4, ... s, at most 5 minutes; failures are
  remembered for a day and a success clears them. One attempt at a time per pair, so
  that parallel sockets cannot guess before the previous failure is counted.
- Per address, over all usernames: 50 attempts per hour (a spray of many usernames,
  existing or not: the throttle never asks whether a username exists).
- Per username, over all addresses: 100 attempts per hour (a botnet on one account).
  Over it, new addresses wait for a free slot: a slow-down within the hour.
- A (username, address) that logged in successfully in the last 30 days is "known":
  the two caps above never hold it back, so neither a spray from the owner's office
  nor a botnet on the owner's account keeps the owner out where they usually log in.
  Only the pair's own delays apply there, and only failures from that very address
  (the same home or office) add to them, at most 5 minutes apart.

Pure parts (`failure_delay`, `pair_wait`, `wait_text`) take their inputs, `now`
included, as arguments; the windows are the package's.
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
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import ConnectionPool

from chatapp.services.accounts import normalize_username
from chatapp.services.errors import ChatError

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
SIGNUPS = Rule("signups", 5, 3600, "sign-ups")
CONVERSATION_CREATION = Rule("conversations", 20, 3600, "new conversations")
# Looking usernames up tells whether they exist: counted per name, so that the app cannot
# be used to list its users quickly.
MEMBER_SEARCH = Rule("member-search", 60, 60, "username look-ups")
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
        return cls(MemoryStorage())

    @classmethod
    def on_redis(cls, redis_url: str, prefix: str = DEFAULT_PREFIX) -> Limiter:
        """Counts in Redis, shared with every limiter of the same URL and prefix.

        Args:
            redis_url: A redis-py URL (`redis://`, `rediss://`, `unix://`), as Reflex takes.
            prefix: Starts every key: one per deployment sharing a Redis.

        Returns:
            The limiter; it connects on first use.
        """
        # Our own pool, so that `close` can release it (the storage has no close).
        pool = ConnectionPool.from_url(redis_url)
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


# Logins --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    """The numbers of the login throttle (see the module docstring for why).

    Attributes:
        free_failures: Failures of one (username, address) before any delay.
        first_delay: Seconds of the first delay; each further failure doubles it.
        max_delay: The longest delay between two attempts of one pair.
        remember: Seconds a pair's failures count (a success forgets them at once).
        per_address: Attempts per `window` from one address over all usernames.
        per_username: Attempts per `window` at one username from all addresses.
        window: The window of the two caps, in seconds.
        known_for: Seconds after a success that its (username, address) skips the caps.
        in_flight: Seconds an attempt may hold its pair before it counts as abandoned.
    """

    free_failures: int = 3
    first_delay: float = 1.0
    max_delay: float = 300.0
    remember: int = 86_400
    per_address: int = 50
    per_username: int = 100
    window: int = 3600
    known_for: int = 30 * 86_400
    in_flight: int = 30

    @property
    def address_rule(self) -> Rule:
        """The cap per address over all usernames."""
        return Rule("login-address", self.per_address, self.window, "failed attempts")

    @property
    def username_rule(self) -> Rule:
        """The cap per username over all addresses."""
        return Rule("login-username", self.per_username, self.window, "failed attempts")

    @property
    def failures_rule(self) -> Rule:
        """A pair's remembered failures."""
        # A count, not a limit: the amount only bounds what is kept. Delays top out at
        # `max_delay`, so a day holds at most remember / max_delay + free failures.
        slots = self.remember // max(1, int(self.max_delay)) + self.free_failures + 64
        return Rule("login-failures", slots, self.remember, "failed attempts")

    @property
    def last_failure_rule(self) -> Rule:
        """A pair's latest failure."""
        # Holds one hit, the latest failure: its time starts the pair's delay.
        return Rule("login-last", 1, self.remember, "failed attempts")

    @property
    def known_rule(self) -> Rule:
        """A pair that logged in successfully lately."""
        return Rule("login-known", 1, self.known_for, "logins")

    @property
    def busy_rule(self) -> Rule:
        """A pair with an attempt in progress."""
        return Rule("login-busy", 1, self.in_flight, "failed attempts")


def failure_delay(failures: int, policy: LoginPolicy) -> float:
    """Seconds a pair must wait after its latest failure, given how many it has had.

    Args:
        failures: The pair's failures still remembered, the latest included.
        policy: The numbers.

    Returns:
        0 for the free ones, then the first delay doubling per failure, capped.
    """
    over = failures - policy.free_failures
    if over <= 0:
        return 0.0
    # Capping the exponent keeps 2**n a float far beyond any cap.
    return min(policy.first_delay * 2.0 ** min(over - 1, 60), policy.max_delay)


def pair_wait(failures: int, last_failure: float | None, now: float, policy: LoginPolicy) -> float:
    """Seconds until a pair may try again.

    Args:
        failures: The pair's remembered failures.
        last_failure: When the latest was (None: no failure remembered).
        now: The current time, on the clock `last_failure` was read from.
        policy: The numbers.

    Returns:
        0 when it may try now.
    """
    if last_failure is None:
        return 0.0
    return max(0.0, last_failure + failure_delay(failures, policy) - now)


class LoginThrottle:
    """Throttles password logins by (username, address), address and username.

    Unknown usernames are counted exactly like existing ones: nothing here looks the
    username up, so the throttle neither protects nor reveals which names exist.

    The safe order is `begin` (or `attempt`), check the password, then `failed` or
    `succeeded`. `wait` is the same question without counting anything.

    Args:
        limiter: Where the counts live (None: the module's, as configured at startup).
        policy: The numbers.
    """

    what = "failed attempts"

    def __init__(self, limiter: Limiter | None = None, policy: LoginPolicy | None = None) -> None:
        self._own_limiter = limiter
        self.policy = policy or LoginPolicy()

    @property
    def limiter(self) -> Limiter:
        """Where the counts live."""
        return self._own_limiter or _limiter

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        # Normalized as accounts compares, so "Alice" and " @alice" are one bucket; quoted
        # so a username cannot forge the separators of the pair's key.
        user = "login:" + quote(normalize_username(username)[:64], safe="")
        addr = address_key(address)
        return user, addr, f"{user}|{addr}"

    async def _known(self, pair: str) -> bool:
        return await self.limiter.used(self.policy.known_rule, pair) > 0

    async def _pair_wait(self, pair: str) -> float:
        failures = await self.limiter.used(self.policy.failures_rule, pair)
        last = await self.limiter.first_hit(self.policy.last_failure_rule, pair)
        return pair_wait(failures, last, time.time(), self.policy)

    async def _busy_wait(self, pair: str) -> float:
        # An attempt in progress ends within a second (one bcrypt check); one abandoned
        # by a crash frees the pair after `in_flight`. Asking again in a second is right
        # for the first and harmless for the second.
        if await self.limiter.used(self.policy.busy_rule, pair) > 0:
            return min(1.0, await self.limiter.retry_after(self.policy.busy_rule, pair))
        return 0.0

    async def wait(self, username: str, address: str) -> float:
        """Seconds before an attempt at `username` from `address` is allowed (0: now).

        Counts nothing; use `begin` to start an attempt.
        """
        user, addr, pair = self._keys(username, address)
        waits = [await self._busy_wait(pair), await self._pair_wait(pair)]
        if not await self._known(pair):
            waits.append(await self.limiter.retry_after(self.policy.address_rule, addr))
            waits.append(await self.limiter.retry_after(self.policy.username_rule, user))
        return max(waits)

    async def begin(self, username: str, address: str) -> None:
        """Start an attempt: hold the pair and count it on the caps, or refuse it.

        Raises:
            RateLimited: Not now ("Too many failed attempts. Try again in N s.");
                nothing was counted against the pair.
        """
        user, addr, pair = self._keys(username, address)
        policy, limiter = self.policy, self.limiter
        if not await limiter.hit(policy.busy_rule, pair):
            raise RateLimited(await self._busy_wait(pair) or 1.0, self.what)
        try:
            wait = await self._pair_wait(pair)
            # Counted before the password is checked, atomically: parallel attempts cannot
            # all pass the caps before the first failure lands.
            if wait <= 0 and not await self._known(pair):
                if not await limiter.hit(policy.address_rule, addr):
                    wait = await limiter.retry_after(policy.address_rule, addr) or 1.0
                elif not await limiter.hit(policy.username_rule, user):
                    wait = await limiter.retry_after(policy.username_rule, user) or 1.0
            if wait > 0:
                raise RateLimited(wait, self.what)
        except BaseException:
            await limiter.reset(policy.busy_rule, pair)
            raise

    async def failed(self, username: str, address: str) -> None:
        """The password was wrong (or the username unknown): count it and free the pair."""
        user, addr, pair = self._keys(username, address)
        policy, limiter = self.policy, self.limiter
        if await limiter.used(policy.busy_rule, pair) == 0 and not await self._known(pair):
            # No `begin` before (a caller using `wait` alone): count on the caps here, so
            # that they hold in that flow too.
            await limiter.hit(policy.address_rule, addr)
            await limiter.hit(policy.username_rule, user)
        await limiter.hit(policy.failures_rule, pair)
        await limiter.reset(policy.last_failure_rule, pair)
        await limiter.hit(policy.last_failure_rule, pair)
        await limiter.reset(policy.busy_rule, pair)

    async def succeeded(self, username: str, address: str) -> None:
        """The password was right: forget the pair's failures, remember the address as
        known for the username, free the pair.

        The caps keep their counts: a success on an account of one's own must not buy
        an address or a username more guesses at others.
        """
        _, _, pair = self._keys(username, address)
        policy, limiter = self.policy, self.limiter
        await limiter.reset(policy.failures_rule, pair)
        await limiter.reset(policy.last_failure_rule, pair)
        # Cleared first so the 30 days run from the latest success, not the first.
        await limiter.reset(policy.known_rule, pair)
        await limiter.hit(policy.known_rule, pair)
        await limiter.reset(policy.busy_rule, pair)

    async def release(self, username: str, address: str) -> None:
        """Free the pair without an outcome (the check itself failed, e.g. the database)."""
        _, _, pair = self._keys(username, address)
        await self.limiter.reset(self.policy.busy_rule, pair)

    @contextlib.asynccontextmanager
    async def attempt(self, username: str, address: str) -> AsyncIterator[None]:
        """`begin`, then the block checks the password: a `ChatError` out of it is a
        failure (and goes on), any other exception releases the pair, a normal exit is
        a success.

        Raises:
            RateLimited: From `begin`, before the block runs.
        """
        await self.begin(username, address)
        try:
            yield
        except ChatError:
            await self.failed(username, address)
            raise
        except BaseException:
            await self.release(username, address)
            raise
        await self.succeeded(username, address)


# What the event handlers use: counts in the module's limiter.
login_throttle = LoginThrottle()
