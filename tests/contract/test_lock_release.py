"""Reflex's tab locks in Redis, as `redis_store.tag_locks` and `release_locks_of` use
them: the key is `{token}_lock`, the value `{event name}:{uuid hex}`, so a tagged
instance's locks begin with its tag; releasing a dead instance's locks deletes only
those still holding its tag (never a lock another instance took since), and a waiter on
another instance gets the tab at once instead of waiting out the lock's expiry.
Against a real Redis server of the test's own."""

from __future__ import annotations

import asyncio
import re
import time
from types import SimpleNamespace

import pytest
import reflex as rx
from redis.asyncio import Redis

from bench.services import RedisServer
from chatapp.reflex_adapter import internals, redis_store
from chatapp.states.app_state import AppState
from tests.support import run_async

EXPIRY_MS = 30_000  # long, as in rxconfig.py: a test that waited it out would fail its bound


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.kill()


def _manager(redis_url: str, monkeypatch, *, oplock: bool = True):
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true" if oplock else "false")
    monkeypatch.setenv("REFLEX_OPLOCK_HOLD_TIME", "20s")
    return StateManagerRedis(
        redis=Redis.from_url(redis_url), lock_expiration=EXPIRY_MS, lock_warning_threshold=10_000
    )


def _token(ident: str) -> rx.BaseStateToken:
    return rx.BaseStateToken(ident=ident, cls=AppState)


# Locks entered and never left (kept here: a context manager collected as garbage would
# be closed, and its lock released, by the event loop).
_NEVER_LEFT: list = []


async def _held_for_good(manager, ident: str, event_name: str | None = None) -> bytes:
    """Take the tab's lock and never give it back, as an instance killed while holding it."""
    held = manager._lock(_token(ident), event_name=event_name)
    _NEVER_LEFT.append(held)
    return await held.__aenter__()


def test_the_pinned_reflex_locks_as_the_release_expects():
    from reflex.istate.manager.redis import StateManagerRedis

    assert internals.lock_tagging_fits(StateManagerRedis)


def test_a_lock_is_keyed_by_the_tab_and_its_id_begins_with_the_event_name(redis_url, monkeypatch):
    async def scenario():
        manager = _manager(redis_url, monkeypatch, oplock=False)
        lock_id = await _held_for_good(manager, "tab-k", event_name="some.event")
        key = manager._lock_key(_token("tab-k"))
        stored = await manager.redis.get(b"tab-k_lock")
        await manager.redis.aclose()
        return lock_id, key, stored

    lock_id, key, stored = run_async(scenario())
    assert key == b"tab-k_lock"
    assert stored == lock_id
    assert re.fullmatch(rb"some\.event:[0-9a-f]{32}", lock_id)


def test_a_tagged_instances_locks_say_which_instance_took_them(redis_url, monkeypatch):
    async def scenario():
        manager = _manager(redis_url, monkeypatch)
        assert redis_store.tag_locks(SimpleNamespace(state_manager=manager), "host-1-abc")
        async with manager.modify_state(_token("tab-t")):  # as an event of the tab does
            during = await manager.redis.get(b"tab-t_lock")
        plain = await _held_for_good(manager, "tab-u")  # no event name
        await redis_store.forget_leases(manager)
        await manager.redis.aclose()
        return during, plain

    during, plain = run_async(scenario())
    assert during.startswith(b"host-1-abc|")
    assert re.fullmatch(rb"host-1-abc\|:[0-9a-f]{32}", plain)


def test_releasing_a_dead_instances_locks_wakes_their_waiters_and_spares_every_other_lock(
    redis_url, monkeypatch
):
    async def scenario():
        dead = _manager(redis_url, monkeypatch, oplock=False)
        live = _manager(redis_url, monkeypatch)
        other = _manager(redis_url, monkeypatch, oplock=False)
        assert redis_store.tag_locks(SimpleNamespace(state_manager=dead), "n1")
        assert redis_store.tag_locks(SimpleNamespace(state_manager=live), "n2")
        assert redis_store.tag_locks(SimpleNamespace(state_manager=other), "n10")  # "n1" + more
        await _held_for_good(dead, "tab-1")
        await _held_for_good(dead, "tab-2")
        await _held_for_good(other, "tab-3")
        await dead.redis.set(b"tab-4_lock", b"untagged:0123", px=EXPIRY_MS)  # an untagged instance
        # tab-5: the dead instance held it, then let it go; the live one took it since.
        async with dead._lock(_token("tab-5")):
            pass
        async with live.modify_state(_token("tab-5")):
            pass
        retaken = await live.redis.get(b"tab-5_lock")

        waited_from = time.monotonic()

        async def event_elsewhere() -> float:  # an event of the tab on the live instance
            async with live.modify_state(_token("tab-1")):
                return time.monotonic() - waited_from

        waiting = asyncio.create_task(event_elsewhere())
        await asyncio.sleep(0.5)
        still_waiting = not waiting.done()
        released = await redis_store.release_locks_of(SimpleNamespace(state_manager=live), "n1")
        waited = await asyncio.wait_for(waiting, 5)
        left = {k: await live.redis.get(f"{k}_lock") for k in ("tab-2", "tab-3", "tab-4", "tab-5")}
        await redis_store.forget_leases(live)
        for manager in (dead, live, other):
            await manager.close()  # its lock notifications' task first, then the connections
        return still_waiting, released, waited, left, retaken

    still_waiting, released, waited, left, retaken = run_async(scenario())
    assert still_waiting  # the dead instance's lock held the event
    assert released == 2  # tab-1 and tab-2
    assert waited < 2.0  # not the 30 s of the lock's expiry
    assert left["tab-2"] is None
    assert left["tab-3"].startswith(b"n10|")
    assert left["tab-4"] == b"untagged:0123"
    assert retaken.startswith(b"n2|")
    assert left["tab-5"] == retaken  # taken by another instance since: never released


def test_nothing_to_release_or_tag_without_state_in_redis():
    elsewhere = SimpleNamespace(state_manager=object())
    assert not redis_store.tag_locks(elsewhere, "n1")
    assert run_async(redis_store.release_locks_of(elsewhere, "n1")) == 0


def _short_leases(redis_url: str, monkeypatch):
    """Leases as in rxconfig.py, scaled down: a lock of 1 s, written back after 0.6 s."""
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")
    return StateManagerRedis(
        redis=Redis.from_url(redis_url),
        lock_expiration=1000,
        lock_warning_threshold=500,
        oplock_hold_time_ms=600,
    )


def test_renewing_a_lease_keeps_its_lock_past_the_expiry_so_its_write_back_is_not_refused(
    redis_url, monkeypatch
):
    """A lease is written back after its hold time when its tab is free: a handler (or a
    busy event loop) that keeps it longer than the lock's expiry lost the lock, and the
    write-back was refused (LockExpiredError): the change was gone. Renewed, it stays."""
    from reflex.istate.manager.redis import StateManagerRedis

    def stored_choice(ident: str) -> str:
        async def read() -> str:
            reader = StateManagerRedis(redis=Redis.from_url(redis_url), lock_expiration=EXPIRY_MS)
            state = await reader.get_state(_token(ident))
            await reader.close()
            return (await state.get_state(AppState)).chosen_status

        return run_async(read())

    def hold_past_the_expiry(ident: str, renew: bool) -> list:
        async def scenario() -> list:
            manager = _short_leases(redis_url, monkeypatch)
            app = SimpleNamespace(state_manager=manager)
            assert redis_store.tag_locks(app, "n1")
            errors: list = []
            asyncio.get_running_loop().set_exception_handler(
                lambda _loop, ctx: errors.append(ctx.get("exception"))
            )
            renewer = asyncio.create_task(redis_store.keeping_leases(app, "n1")) if renew else None
            async with manager.modify_state(_token(ident)):  # an event: the lease begins
                pass
            async with manager.modify_state(_token(ident)) as root:  # a handler that takes long
                (await root.get_state(AppState)).chosen_status = "away"
                await asyncio.sleep(1.6)
            await asyncio.sleep(0.6)  # the lease's write-back, done or refused
            if renewer is not None:
                renewer.cancel()
            await redis_store.forget_leases(manager)
            await manager.close()
            return errors

        return run_async(scenario())

    assert internals.lease_renewal_fits(StateManagerRedis)
    lost = hold_past_the_expiry("tab-lost", renew=False)
    kept = hold_past_the_expiry("tab-kept", renew=True)
    assert [type(e).__name__ for e in lost] == ["LockExpiredError"] and stored_choice("tab-lost") == ""
    assert kept == [] and stored_choice("tab-kept") == "away"
