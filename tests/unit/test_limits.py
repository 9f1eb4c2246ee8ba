"""Rate limits on the in-memory storage: counts, when to retry, independent keys, and
the burst that used to get through (many sockets of one login)."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from chatapp.services import limits
from chatapp.services.errors import ChatError
from chatapp.services.limits import Limiter, RateLimited, Rule
from tests.support import run_async

RULE = Rule("test-messages", 3, 10, "messages")


def test_a_rule_allows_its_amount_then_refuses_with_when_to_retry():
    async def scenario():
        limiter = Limiter.in_memory()
        for _ in range(3):
            await limiter.take(RULE, "user:1")
        with pytest.raises(RateLimited) as refused:
            await limiter.take(RULE, "user:1")
        return refused.value, await limiter.retry_after(RULE, "user:1")

    refused, wait = run_async(scenario())
    assert 9.0 < refused.retry_after <= 10.0
    assert str(refused) == "Too many messages. Try again in 10 s."
    assert wait == pytest.approx(refused.retry_after, abs=0.5)


def test_a_refused_request_is_not_counted_and_a_fresh_key_may_go_at_once():
    async def scenario():
        limiter = Limiter.in_memory()
        fresh = await limiter.retry_after(RULE, "user:1")
        for _ in range(3):
            await limiter.take(RULE, "user:1")
        for _ in range(5):
            with pytest.raises(RateLimited):
                await limiter.take(RULE, "user:1")
        return fresh, await limiter.used(RULE, "user:1")

    fresh, used = run_async(scenario())
    assert fresh == 0.0
    assert used == 3


def test_keys_and_rules_are_counted_separately():
    other_rule = Rule("test-other", 3, 10, "other things")

    async def scenario():
        limiter = Limiter.in_memory()
        for _ in range(3):
            await limiter.take(RULE, "user:1")
        await limiter.take(RULE, "user:2")
        await limiter.take(other_rule, "user:1")
        return await limiter.retry_after(RULE, "user:1"), await limiter.retry_after(RULE, "user:2")

    one, two = run_async(scenario())
    assert one > 0
    assert two == 0.0


def test_reset_forgets_a_keys_count():
    async def scenario():
        limiter = Limiter.in_memory()
        for _ in range(3):
            await limiter.take(RULE, "user:1")
        await limiter.reset(RULE, "user:1")
        await limiter.take(RULE, "user:1")
        return await limiter.used(RULE, "user:1")

    assert run_async(scenario()) == 1


def test_the_window_moves_a_slot_frees_when_the_oldest_request_ages_out():
    rule = Rule("test-fast", 2, 1, "things")

    async def scenario():
        limiter = Limiter.in_memory()
        await limiter.take(rule, "k")
        await asyncio.sleep(0.5)
        await limiter.take(rule, "k")
        refused_at_once = await limiter.retry_after(rule, "k")
        await asyncio.sleep(0.6)  # the first is 1.1 s old, the second 0.6 s
        await limiter.take(rule, "k")
        with pytest.raises(RateLimited):
            await limiter.take(rule, "k")
        return refused_at_once

    assert 0.3 < run_async(scenario()) <= 0.5


def test_a_cost_counts_that_many_and_a_cost_above_the_whole_allowance_passes_once_per_window():
    rule = Rule("test-lookups", 5, 60, "username look-ups")

    async def scenario():
        limiter = Limiter.in_memory()
        await limiter.take(rule, "user:1", cost=3)
        with pytest.raises(RateLimited):
            await limiter.take(rule, "user:1", cost=3)
        await limiter.take(rule, "user:1", cost=2)
        # A 200-name group: possible once when nothing was looked up, never twice.
        await limiter.take(rule, "user:2", cost=200)
        with pytest.raises(RateLimited):
            await limiter.take(rule, "user:2", cost=1)
        return await limiter.used(rule, "user:1"), await limiter.used(rule, "user:2")

    assert run_async(scenario()) == (5, 5)


def test_thirty_sockets_of_one_login_get_the_users_limit_together_not_each():
    """The flood of the issue: 30 tabs of one user sending at once stored 600 messages."""

    async def scenario():
        limiter = Limiter.in_memory()

        async def tab(_):
            sent = 0
            for _ in range(20):
                try:
                    await limiter.take(limits.MESSAGES, "user:7")
                    sent += 1
                except RateLimited:
                    pass
            return sent

        return sum(await asyncio.gather(*(tab(i) for i in range(30))))

    assert run_async(scenario()) == limits.MESSAGES.amount == 20


def test_the_advertised_rules():
    """README's numbers; a change here is a change of what users are promised."""
    per = {
        rule.name: (rule.amount, rule.seconds)
        for rule in (
            limits.MESSAGES,
            limits.STATUS_CHANGES,
            limits.SIGNUPS,
            limits.CONVERSATION_CREATION,
            limits.PEOPLE_SEARCH,
        )
    }
    assert per == {
        "messages": (20, 10),
        "status": (30, 60),
        "signups": (5, 3600),
        "conversations": (20, 3600),
        "people-search": (30, 60),
    }
    names = [r.name for r in vars(limits).values() if isinstance(r, Rule)]
    assert len(names) == len(set(names)), "rule names are part of the keys: they must differ"


def test_a_rule_with_other_numbers_counts_apart_from_the_original():
    small = dataclasses.replace(limits.MESSAGES, amount=1)

    async def scenario():
        limiter = Limiter.in_memory()
        await limiter.take(small, "user:1")
        with pytest.raises(RateLimited):
            await limiter.take(small, "user:1")
        await limiter.take(limits.MESSAGES, "user:1")

    run_async(scenario())


def test_the_module_functions_use_the_limiter_chosen_at_startup():
    async def scenario():
        async with limits.serving(None, "unused") as limiter:
            rule = dataclasses.replace(RULE, amount=1)
            await limits.take(rule, "user:1")
            with pytest.raises(RateLimited):
                await limits.take(rule, "user:1")
            in_use = limits.current() is limiter
            waiting = await limits.retry_after(rule, "user:1")
            await limits.reset(rule, "user:1")
            after_reset = await limits.retry_after(rule, "user:1")
        return in_use, waiting, after_reset, limits.current() is limiter

    in_use, waiting, after_reset, still_after = run_async(scenario())
    assert in_use and waiting > 0 and after_reset == 0.0
    assert not still_after  # at shutdown it goes back to a fresh in-memory limiter


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.01, "1 s"), (1.0, "1 s"), (7.2, "8 s"), (119.5, "2 min"), (300, "5 min"), (301, "6 min")],
)
def test_waits_read_in_whole_seconds_then_minutes(seconds, text):
    assert limits.wait_text(seconds) == text


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "addr:203.0.113.7"),
        (" 203.0.113.7 ", "addr:203.0.113.7"),
        ("::ffff:203.0.113.7", "addr:203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "addr:2001:db8:1:2::"),
        ("2001:db8:1:2::1", "addr:2001:db8:1:2::"),
        ("2001:db8:1:3::1", "addr:2001:db8:1:3::"),
        ("unknown", "addr:unknown"),
        ("a/b", "addr:a%2Fb"),
    ],
)
def test_an_address_key_counts_ipv6_by_its_slash_64(address, key):
    assert limits.address_key(address) == key


def test_the_refusal_is_a_chat_error_with_its_wait():
    refused = RateLimited(7.2, "messages")
    assert isinstance(refused, ChatError)
    assert refused.retry_after == 7.2
    assert re.fullmatch(r"Too many messages\. Try again in 8 s\.", str(refused))
