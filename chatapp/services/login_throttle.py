"""Login throttling, shared by every instance (on the limiter of `limits`).

What others do: Zulip's default
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


The order is `attempt` (or `begin`, check the password, then `failed`, `succeeded` or
`release`). Only `WrongCredentials` counts as a failure: a refusal for any other reason
(the server busy, the database down) frees the pair and counts nothing.

Pure parts (`failure_delay`, `pair_wait`) take their inputs, `now` included, as
arguments.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

from chatapp.services import limits, password_gate
from chatapp.services.accounts import normalize_username
from chatapp.services.errors import ChatError, WrongCredentials
from chatapp.services.limits import Limiter, RateLimited, Rule, address_key

T = TypeVar("T")


class LoginInProgress(RateLimited):
    """Another attempt at the same username from the same address is being checked."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(0.0, retry_after)
        msg = "Another attempt to log in to this account is being checked. Try again in a moment."
        ChatError.__init__(self, msg)


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
        return self._own_limiter or limits.current()

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
            raise LoginInProgress(await self._busy_wait(pair) or 1.0)
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
        """`begin`, then the block checks the password: `WrongCredentials` out of it is
        a failure (and goes on), any other exception releases the pair uncounted, a
        normal exit is a success.

        Raises:
            RateLimited: From `begin`, before the block runs.
        """
        await self.begin(username, address)
        try:
            yield
        except WrongCredentials:
            await self.failed(username, address)
            raise
        except BaseException:
            await self.release(username, address)
            raise
        await self.succeeded(username, address)

    async def check(self, username: str, address: str, check: Callable[..., T], *args: object) -> T:
        """The one order of a login: a place in `password_gate` (in the known lane for a
        (username, address) that logged in successfully lately; refused at once when its
        lane is full, counting nothing), then `attempt` around `check(*args)` in a worker
        thread.

        Raises:
            password_gate.Busy: Too many checks waiting; nothing was counted.
            RateLimited: The throttle says not now.
            WrongCredentials: From `check`; counted as a failure.
        """
        _, _, pair = self._keys(username, address)
        # Where this username logged in before: ahead of strangers in the queue.
        known = await self._known(pair)
        async with password_gate.admitted(known=known) as gate, self.attempt(username, address):
            return await gate.run(check, *args)


# What the event handlers use: counts in the module's limiter.
login_throttle = LoginThrottle()
