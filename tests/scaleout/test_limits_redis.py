"""Limits on the machine's Redis: two limiters in this process, each with its own
connections, stand for two instances of the app. They must count together, exactly as
one limiter would, and stay out of another deployment's keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis

from chatapp.services import limits
from chatapp.services.limits import Limiter, RateLimited, Rule
from chatapp.services.login_throttle import LoginPolicy, LoginThrottle, login_throttle
from tests.scaleout.support import REDIS_URL
from tests.support import run_async

RULE = Rule("test-messages", 5, 10, "messages")
STRANGER, HOME = "203.0.113.66", "198.51.100.10"


@pytest.fixture
def prefix(services) -> Iterator[str]:
    """A key prefix of the test's own, outside the run's presence prefix (whose keys other
    tests list and read as presence records); its keys are deleted after."""
    prefix = f"chatapp-test-limits-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def fail(t: LoginThrottle, username: str, address: str) -> None:
    await t.begin(username, address)
    await t.failed(username, address)


def test_two_instances_share_one_count_and_one_wait(prefix):
    async def scenario():
        a, b = Limiter.on_redis(REDIS_URL, prefix), Limiter.on_redis(REDIS_URL, prefix)
        try:
            for limiter in (a, b, a, b, a):
                await limiter.take(RULE, "user:1")
            refused = []
            for limiter in (a, b):
                with pytest.raises(RateLimited) as caught:
                    await limiter.take(RULE, "user:1")
                refused.append(caught.value.retry_after)
            other_key = await b.retry_after(RULE, "user:2")
            await a.reset(RULE, "user:1")
            return refused, other_key, await b.retry_after(RULE, "user:1"), await b.used(RULE, "user:1")
        finally:
            await a.close()
            await b.close()

    refused, other_key, after_reset, used = run_async(scenario())
    assert all(9.0 < wait <= 10.0 for wait in refused)
    assert other_key == 0.0
    assert after_reset == 0.0 and used == 0


def test_a_burst_from_many_sockets_on_two_instances_gets_the_users_limit_once(prefix):
    async def scenario():
        a, b = Limiter.on_redis(REDIS_URL, prefix), Limiter.on_redis(REDIS_URL, prefix)
        try:

            async def send(limiter: Limiter) -> bool:
                try:
                    await limiter.take(limits.MESSAGES, "user:7")
                except RateLimited:
                    return False
                return True

            sent = await asyncio.gather(*(send(a if i % 2 else b) for i in range(120)))
            return sum(sent)
        finally:
            await a.close()
            await b.close()

    assert run_async(scenario()) == limits.MESSAGES.amount


def test_failed_logins_split_over_two_instances_are_delayed_as_on_one(prefix):
    """The issue: on two instances one username got 10 failed logins before lockout
    instead of 5."""

    async def waits_after_each_failure(throttles: list[LoginThrottle]) -> list[bool]:
        out = []
        for i in range(5):
            await throttles[i % len(throttles)].failed("alice", STRANGER)
            out.append(await throttles[(i + 1) % len(throttles)].wait("alice", STRANGER))
        return out

    async def scenario():
        one = await waits_after_each_failure([LoginThrottle(Limiter.in_memory())])
        a, b = Limiter.on_redis(REDIS_URL, prefix), Limiter.on_redis(REDIS_URL, prefix)
        try:
            two = await waits_after_each_failure([LoginThrottle(a), LoginThrottle(b)])
        finally:
            await a.close()
            await b.close()
        return one, two

    one, two = run_async(scenario())
    assert [w > 0 for w in two] == [w > 0 for w in one] == [False, False, False, True, True]
    assert two[3] == pytest.approx(one[3], abs=0.2) == pytest.approx(1.0, abs=0.2)
    assert two[4] == pytest.approx(one[4], abs=0.2) == pytest.approx(2.0, abs=0.2)


def test_parallel_attempts_at_one_pair_on_two_instances_go_one_at_a_time(prefix):
    async def scenario():
        a, b = Limiter.on_redis(REDIS_URL, prefix), Limiter.on_redis(REDIS_URL, prefix)
        try:
            ta, tb = LoginThrottle(a), LoginThrottle(b)
            outcomes = await asyncio.gather(
                *((ta if i % 2 else tb).begin("alice", STRANGER) for i in range(20)),
                return_exceptions=True,
            )
            return sum(o is None for o in outcomes)
        finally:
            await a.close()
            await b.close()

    assert run_async(scenario()) == 1


def test_the_caps_and_a_known_address_are_shared_by_instances(prefix):
    policy = LoginPolicy(per_address=4, per_username=6)

    async def scenario():
        a, b = Limiter.on_redis(REDIS_URL, prefix), Limiter.on_redis(REDIS_URL, prefix)
        try:
            ta, tb = LoginThrottle(a, policy), LoginThrottle(b, policy)
            await ta.begin("alice", HOME)
            await ta.succeeded("alice", HOME)  # known on instance A
            for i in range(4):  # a spray: half on each instance
                await fail(ta if i % 2 else tb, f"ghost_{i}", STRANGER)
            sprayer = await tb.wait("someone", STRANGER)
            for i in range(5):  # a botnet on alice fills what her first login left
                await fail(ta if i % 2 else tb, "alice", f"192.0.2.{i}")
            return sprayer, await tb.wait("alice", HOME), await tb.wait("alice", "192.0.2.200")
        finally:
            await a.close()
            await b.close()

    sprayer, owner_at_home, new_address = run_async(scenario())
    assert sprayer > 0
    assert owner_at_home == 0.0
    assert new_address > 0


def test_deployments_with_other_prefixes_do_not_share_counts(prefix):
    async def scenario():
        ours = Limiter.on_redis(REDIS_URL, prefix)
        theirs = Limiter.on_redis(REDIS_URL, prefix + "-other")
        try:
            for _ in range(RULE.amount):
                await ours.take(RULE, "user:1")
            return await theirs.retry_after(RULE, "user:1"), await ours.retry_after(RULE, "user:1")
        finally:
            await ours.close()
            await theirs.close()

    theirs, ours = run_async(scenario())
    assert theirs == 0.0 and ours > 0
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
    finally:
        client.close()
    assert keys and all("test-messages/user:1/" in key for key in keys)


def test_the_app_configured_with_a_redis_url_counts_in_redis(prefix):
    async def scenario():
        async with limits.serving(REDIS_URL, prefix):
            for _ in range(RULE.amount):
                await limits.take(RULE, "user:3")
            await login_throttle.failed("alice", STRANGER)
        # Another instance (a limiter of its own) sees what the configured one counted.
        other = Limiter.on_redis(REDIS_URL, prefix)
        try:
            policy = login_throttle.policy
            pair = "login:alice|addr:" + STRANGER
            return await other.used(RULE, "user:3"), await other.used(policy.failures_rule, pair)
        finally:
            await other.close()

    assert run_async(scenario()) == (RULE.amount, 1)
