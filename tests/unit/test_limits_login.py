"""The login throttle on the in-memory storage: growing delays per (username, address),
the caps per address and per username, and the owner who is never locked out by a
stranger."""

from __future__ import annotations

import asyncio
import gc

import pytest

from chatapp.services import password_gate
from chatapp.services.errors import InvalidInput, WrongCredentials
from chatapp.services.limits import Limiter, RateLimited
from chatapp.services.login_throttle import (
    LoginInProgress,
    LoginPolicy,
    LoginThrottle,
    failure_delay,
    pair_wait,
)
from tests.support import run_async

DEFAULT = LoginPolicy()
HOME, CAFE, STRANGER = "198.51.100.10", "198.51.100.20", "203.0.113.66"


def throttle(**numbers) -> LoginThrottle:
    return LoginThrottle(Limiter.in_memory(), LoginPolicy(**numbers))


async def fail(t: LoginThrottle, username: str, address: str) -> None:
    """One wrong password, through the same door as the app's."""
    await t.begin(username, address)
    await t.failed(username, address)


def test_the_first_failures_are_free_then_delays_double_up_to_five_minutes():
    delays = [failure_delay(n, DEFAULT) for n in range(16)]
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert failure_delay(10_000, DEFAULT) == 300


def test_a_pairs_wait_runs_from_its_latest_failure():
    assert pair_wait(3, 100.0, 100.0, DEFAULT) == 0.0
    assert pair_wait(4, 100.0, 100.25, DEFAULT) == pytest.approx(0.75)
    assert pair_wait(6, 100.0, 102.0, DEFAULT) == pytest.approx(2.0)
    assert pair_wait(6, 100.0, 104.0, DEFAULT) == 0.0
    assert pair_wait(9, None, 100.0, DEFAULT) == 0.0


def test_a_pair_is_slowed_down_more_with_each_failure_not_locked():
    async def scenario():
        t = throttle()
        waits = []
        for _ in range(4):
            await fail(t, "alice", STRANGER)
            waits.append(await t.wait("alice", STRANGER))
        with pytest.raises(RateLimited) as refused:
            await t.begin("alice", STRANGER)
        await asyncio.sleep(waits[-1] + 0.05)
        await fail(t, "alice", STRANGER)  # allowed again once the delay is over
        return waits, refused.value, await t.wait("alice", STRANGER)

    waits, refused, after_fifth = run_async(scenario())
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(1.0, abs=0.2)
    assert str(refused) == "Too many failed attempts. Try again in 1 s."
    assert after_fifth == pytest.approx(2.0, abs=0.2)


def test_a_success_forgets_the_pairs_failures():
    async def scenario():
        t = throttle()
        for _ in range(4):
            await t.failed("alice", HOME)
        before = await t.wait("alice", HOME)
        await t.succeeded("alice", HOME)
        after = await t.wait("alice", HOME)
        for _ in range(3):
            await fail(t, "alice", HOME)  # three free ones again
        return before, after, await t.wait("alice", HOME)

    before, after, after_three_more = run_async(scenario())
    assert before > 0
    assert after == 0.0
    assert after_three_more == 0.0


def test_a_stranger_elsewhere_cannot_lock_the_owner_out():
    """The issue: 5 wrong passwords from anywhere locked the real owner out."""

    async def scenario():
        t = throttle()
        for _ in range(30):  # one stranger, as fast as the throttle lets it count
            await t.failed("alice", STRANGER)
        one_stranger = (await t.wait("alice", HOME), await t.wait("alice", CAFE))
        stranger_waits = await t.wait("alice", STRANGER)
        return one_stranger, stranger_waits

    (home, cafe), stranger = run_async(scenario())
    assert home == 0.0 and cafe == 0.0
    assert stranger == pytest.approx(DEFAULT.max_delay, abs=1)


def test_a_botnet_on_the_username_slows_new_addresses_but_never_the_owners_usual_one():
    async def scenario():
        t = throttle(per_username=20)
        await t.begin("alice", HOME)
        await t.succeeded("alice", HOME)  # the owner logged in from home before
        for i in range(40):
            await t.failed("alice", f"203.0.113.{i}")
        home = await t.wait("alice", HOME)
        await t.begin("alice", HOME)
        await t.succeeded("alice", HOME)
        return home, await t.wait("alice", CAFE)

    home, cafe = run_async(scenario())
    assert home == 0.0
    assert 0 < cafe <= 3600  # a new address waits for a slot in the hour: a slow-down


def test_unknown_usernames_are_counted_like_existing_ones(make_user):
    make_user("alice")  # an account that exists; "nobody_here" does not

    async def scenario():
        t = throttle(per_address=10)
        existing, unknown = [], []
        for _ in range(5):
            await t.failed("alice", STRANGER)
            existing.append(await t.wait("alice", STRANGER) > 0)
            await t.failed("nobody_here", STRANGER)
            unknown.append(await t.wait("nobody_here", STRANGER) > 0)
        # The address made 10 attempts, its cap: every other name now waits alike.
        return existing, unknown, await t.wait("carol", STRANGER), await t.wait("ghost_9", STRANGER)

    existing, unknown, carol, ghost = run_async(scenario())
    assert existing == unknown == [False, False, False, True, True]
    assert carol > 0 and carol == pytest.approx(ghost, abs=0.1)


def test_spellings_of_a_username_share_one_count():
    async def scenario():
        t = throttle()
        for name in ("Alice", " @alice", "ALICE", "alice"):
            await fail(t, name, STRANGER)
        return await t.wait("aLiCe", STRANGER)

    assert run_async(scenario()) == pytest.approx(1.0, abs=0.2)


def test_addresses_of_one_ipv6_slash_64_share_one_count():
    async def scenario():
        t = throttle()
        for host in ("1", "2", "3", "4"):
            await fail(t, "alice", f"2001:db8:1:2::{host}")
        return await t.wait("alice", "2001:db8:1:2::99"), await t.wait("alice", "2001:db8:1:3::1")

    same, other = run_async(scenario())
    assert same == pytest.approx(1.0, abs=0.2)
    assert other == 0.0


def test_parallel_attempts_at_one_pair_go_one_at_a_time():
    """Many sockets cannot all check a password before the first failure is counted."""

    async def scenario():
        t = throttle()
        outcomes = await asyncio.gather(
            *(t.begin("alice", STRANGER) for _ in range(20)), return_exceptions=True
        )
        refused = [o for o in outcomes if isinstance(o, RateLimited)]
        await t.failed("alice", STRANGER)
        await t.begin("alice", STRANGER)  # the pair is free again
        return len(outcomes) - len(refused), refused[0]

    passed, refused = run_async(scenario())
    assert passed == 1
    assert isinstance(refused, LoginInProgress)
    # Nothing has failed yet: the refusal says what is happening.
    assert (
        str(refused) == "Another attempt to log in to this account is being checked. Try again in a moment."
    )


def test_parallel_attempts_from_one_address_stop_at_the_address_cap():
    async def scenario():
        t = throttle(per_address=5)
        outcomes = await asyncio.gather(
            *(t.begin(f"name_{i}", STRANGER) for i in range(20)), return_exceptions=True
        )
        return sum(o is None for o in outcomes)

    assert run_async(scenario()) == 5


def test_a_spray_from_a_shared_address_does_not_hold_back_who_logged_in_there_before():
    """The issue: twenty failures with unknown usernames locked out every user at the address."""

    async def scenario():
        t = throttle(per_address=5)
        await t.begin("alice", HOME)
        await t.succeeded("alice", HOME)
        for i in range(10):
            await t.failed(f"ghost_{i}", HOME)  # someone else on the same network
        return await t.wait("alice", HOME), await t.wait("bob", HOME)

    alice, bob = run_async(scenario())
    assert alice == 0.0
    assert bob > 0  # a first login from there waits: the cap works for strangers


def test_an_attempt_block_records_its_outcome():
    async def scenario():
        t = throttle()
        with pytest.raises(WrongCredentials):
            async with t.attempt("alice", HOME):
                raise WrongCredentials("Wrong username or password.")
        failures = await t.limiter.used(t.policy.failures_rule, "login:alice|addr:" + HOME)
        with pytest.raises(InvalidInput):
            async with t.attempt("alice", HOME):
                raise InvalidInput("A field is too long.")  # refused before any password check
        with pytest.raises(RuntimeError):
            async with t.attempt("alice", HOME):
                raise RuntimeError("the database went away")
        after_error = await t.limiter.used(t.policy.failures_rule, "login:alice|addr:" + HOME)
        async with t.attempt("alice", HOME):
            pass
        known = await t.limiter.used(t.policy.known_rule, "login:alice|addr:" + HOME)
        return failures, after_error, known, await t.wait("alice", HOME)

    failures, after_error, known, wait = run_async(scenario())
    assert failures == 1
    assert after_error == 1  # not a failure, and the pair was freed (the next block ran)
    assert known == 1
    assert wait == 0.0


def test_failures_recorded_without_begin_still_count_on_the_caps():
    async def scenario():
        t = throttle(per_address=3)
        for i in range(3):
            await t.failed(f"name_{i}", STRANGER)
        return await t.wait("someone_else", STRANGER)

    assert run_async(scenario()) > 0


async def _fill_the_strangers_queue(t: LoginThrottle, release: asyncio.Event) -> list[asyncio.Task]:
    """A flood from many addresses: one check running until `release` is set and the
    strangers' lane of the password queue full behind it."""
    loop = asyncio.get_running_loop()

    def slow(n: int) -> int:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(5)
        return n

    flood = [
        asyncio.create_task(t.check(f"bot_{n}", f"203.0.113.{n}", slow, n))
        for n in range(1 + password_gate.QUEUE)
    ]
    await asyncio.sleep(0.05)
    return flood


def test_a_login_the_busy_server_refuses_counts_nowhere():
    """A flood fills the password queue; the owner's refused attempt must not count as a
    failure of theirs nor on the caps, or the flood would lock them out."""
    release = asyncio.Event()

    async def scenario():
        t = throttle(per_address=2, per_username=2)
        flood = await _fill_the_strangers_queue(t, release)
        refusals = []
        for _ in range(5):
            with pytest.raises(password_gate.Busy) as busy:
                await t.check("alice", HOME, lambda: "in")
            refusals.append(str(busy.value))
        release.set()
        await asyncio.gather(*flood)
        pair = "login:alice|addr:" + HOME
        counted = [
            await t.limiter.used(t.policy.failures_rule, pair),
            await t.limiter.used(t.policy.busy_rule, pair),
            await t.limiter.used(t.policy.address_rule, "addr:" + HOME),
            await t.limiter.used(t.policy.username_rule, "login:alice"),
        ]
        return refusals, counted, await t.wait("alice", HOME), await t.check("alice", HOME, lambda: "in")

    refusals, counted, wait, logged_in = run_async(scenario())
    assert refusals == ["Many people are logging in right now. Try again in a few seconds."] * 5
    assert counted == [0, 0, 0, 0]
    assert wait == 0.0
    assert logged_in == "in"


async def checked(t: LoginThrottle, username: str, address: str, n: int) -> None:
    """An attempt whose password check takes a while, as bcrypt does in a worker thread."""
    await t.begin(username, address)
    await asyncio.sleep(0.001 * (n % 5))
    await t.failed(username, address)


def test_a_login_flood_on_the_process_storage_leaves_no_error_and_no_stray_count():
    """Many pairs begin and end at once, as under a flood: every pair is free afterwards,
    and the event loop saw no exception (the package's memory storage raised KeyError
    from its clean-up task here)."""
    errors = []

    async def scenario():
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        t = throttle(in_flight=1)
        for _round in range(5):
            pairs = [(f"user_{n % 7}", f"198.51.100.{n}") for n in range(60)]
            await asyncio.gather(
                *(checked(t, u, a, n) for n, (u, a) in enumerate(pairs)), return_exceptions=True
            )
            await asyncio.sleep(0)
        await asyncio.sleep(1.1)  # the attempts' in-flight entries have expired meanwhile
        busy = [
            await t.limiter.used(t.policy.busy_rule, f"login:user_{n % 7}|addr:198.51.100.{n}")
            for n in range(60)
        ]
        return busy

    busy = run_async(scenario())
    gc.collect()  # a task that failed unseen reports when it is collected
    assert busy == [0] * 60
    assert errors == []


def test_a_returning_user_logs_in_while_a_flood_fills_the_strangers_queue():
    """Where the owner logged in before, a flood of strangers does not keep them out."""
    release = asyncio.Event()

    async def scenario():
        t = throttle()
        await t.check("alice", HOME, lambda: "in")  # an earlier login from home
        flood = await _fill_the_strangers_queue(t, release)
        with pytest.raises(password_gate.Busy):
            await t.check("bob", CAFE, lambda: "in")  # a first login from here: a stranger
        owner = asyncio.create_task(t.check("alice", HOME, lambda: "in"))
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(*flood)
        return await owner

    assert run_async(scenario()) == "in"
