"""Reflex's opportunistic locks, as `tabs.push` and `redis_store` use them: while this
instance holds a tab's lease, its state is here, a change made in place is written back
to Redis when the lease ends, and `forget_leases` gives every lease up without writing
(after Redis restarted empty). Against a real Redis server of the test's own."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import reflex as rx
from redis.asyncio import Redis

from bench.services import RedisServer
from chatapp import redis_pool
from chatapp.reflex_adapter import redis_store, tabs
from chatapp.states.app_state import PRESENCE, AppState
from tests.support import run_async

ENTRY = {"user_id": 7, "status": "away", "v": 3}


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.kill()


def _manager(redis_url: str, monkeypatch):
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")
    monkeypatch.setenv("REFLEX_OPLOCK_HOLD_TIME", "30s")
    manager = StateManagerRedis(
        redis=Redis.from_url(redis_url), lock_expiration=60_000, lock_warning_threshold=30_000
    )
    assert manager._oplock_enabled
    return manager


async def _stored_presence(manager, token: str) -> dict:
    """The presence map of the tab's state as Redis holds it (a fresh read)."""
    state = await manager.get_state(rx.BaseStateToken(ident=token, cls=AppState))
    return dict((await state.get_state(AppState)).get_value("presence_map"))


async def _lease(manager, token: str) -> None:
    """Use the tab as an event does until this instance holds its lease (Reflex leases
    only once its lock notifications are subscribed, a moment after it starts)."""
    for _ in range(100):
        async with manager.modify_state(rx.BaseStateToken(ident=token, cls=AppState)):
            pass
        if token in manager._local_leases:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no lease was taken")


def test_a_leased_state_is_changed_in_place_and_written_back_when_the_lease_ends(redis_url, monkeypatch):
    async def scenario():
        manager = _manager(redis_url, monkeypatch)
        state_of, kept_elsewhere = tabs._local_states(manager)
        assert state_of("tab-1") is None  # not leased: the long way
        await _lease(manager, "tab-1")
        root = state_of("tab-1")
        assert root is not None and kept_elsewhere
        sub = root.get_substate(AppState.get_full_name().split("."))
        sub._presence_changed_in_place(ENTRY)
        sub._was_touched = True  # what tabs.push does after an in-place change
        before = await _stored_presence(manager, "tab-1")
        lease = manager._local_leases["tab-1"]
        lease.cancel()  # the lease ends (as when another instance asks for the tab)
        await asyncio.gather(lease, return_exceptions=True)
        after = await _stored_presence(manager, "tab-1")
        await manager.redis.aclose()
        return before, after

    before, after = run_async(scenario())
    assert "7" not in before
    assert after["7"] == ENTRY


def test_a_state_in_use_by_a_handler_is_not_changed_in_place(redis_url, monkeypatch):
    async def scenario():
        manager = _manager(redis_url, monkeypatch)
        state_of, _ = tabs._local_states(manager)
        await _lease(manager, "tab-2")
        async with manager.modify_state(rx.BaseStateToken(ident="tab-2", cls=AppState)):
            during = state_of("tab-2")
        after = state_of("tab-2")
        await redis_store.forget_leases(manager)
        await manager.redis.aclose()
        return during, after

    during, after = run_async(scenario())
    assert during is None
    assert after is not None


def test_forgetting_the_leases_writes_nothing_back_and_frees_the_locks(redis_url, monkeypatch):
    async def scenario():
        manager = _manager(redis_url, monkeypatch)
        await _lease(manager, "tab-3")
        state_of, _ = tabs._local_states(manager)
        sub = state_of("tab-3").get_substate(AppState.get_full_name().split("."))
        sub._presence_changed_in_place(ENTRY)
        sub._was_touched = True
        forgotten = await redis_store.forget_leases(manager)
        lock = await manager.redis.get(manager._lock_key(rx.BaseStateToken(ident="tab-3", cls=AppState)))
        stored = await _stored_presence(manager, "tab-3")
        left = state_of("tab-3")
        await manager.redis.aclose()
        return forgotten, lock, stored, left

    forgotten, lock, stored, left = run_async(scenario())
    assert forgotten == 1
    assert lock is None  # another instance may take the tab at once
    assert "7" not in stored  # the copy of a Redis that restarted empty is not written
    assert left is None
    assert PRESENCE.field == "presence_map"


def _short_locks(redis_url: str, monkeypatch):
    """A manager whose locks expire after 1 s (Reflex's default is 10 s)."""
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")
    monkeypatch.setenv("REFLEX_OPLOCK_HOLD_TIME", "0.3s")
    return StateManagerRedis(
        redis=Redis.from_url(redis_url), lock_expiration=1000, lock_warning_threshold=500
    )


def test_a_handler_waiting_its_turn_keeps_its_tab_and_its_state_is_written(redis_url, monkeypatch):
    """A page load waiting for its turn (`states/page_loads.py`) holds its tab's lock;
    `lock_kept` renews it, so the state the load makes is written when it is done,
    however long the wait was (it was refused with LockExpiredError past 10 s)."""

    async def scenario():
        manager = _short_locks(redis_url, monkeypatch)
        await _lease(manager, "tab-4")
        async with manager.modify_state(rx.BaseStateToken(ident="tab-4", cls=AppState)) as root:
            async with redis_store.lock_kept(SimpleNamespace(state_manager=manager), "tab-4"):
                await asyncio.sleep(2.5)  # waiting for a turn, past the lock's expiry
            app_state = await root.get_state(AppState)
            app_state.presence_map = {"7": ENTRY}
        await asyncio.sleep(0.8)  # the lease ends and writes the state back
        stored = await _stored_presence(manager, "tab-4")
        await redis_store.forget_leases(manager)
        await manager.redis.aclose()
        return stored

    assert run_async(scenario()) == {"7": ENTRY}


def test_without_renewal_the_lock_expires_and_the_state_is_lost(redis_url, monkeypatch):
    """What `lock_kept` prevents, shown on the same Reflex: nothing written."""

    async def scenario():
        manager = _short_locks(redis_url, monkeypatch)
        errors: list = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
        await _lease(manager, "tab-5")
        async with manager.modify_state(rx.BaseStateToken(ident="tab-5", cls=AppState)) as root:
            await asyncio.sleep(2.5)
            app_state = await root.get_state(AppState)
            app_state.presence_map = {"7": ENTRY}
        await asyncio.sleep(0.8)
        stored = await _stored_presence(manager, "tab-5")
        await redis_store.forget_leases(manager)
        await manager.redis.aclose()
        return stored, errors

    stored, errors = run_async(scenario())
    assert stored == {}
    assert any("LockExpired" in repr(c.get("exception")) for c in errors)


def _token(ident: str) -> rx.BaseStateToken:
    return rx.BaseStateToken(ident=ident, cls=AppState)


async def _other_tab_while_held(aside: bool, redis_url: str, monkeypatch) -> list[str]:
    """Instance A holds tab-6 in a handler (a page load waiting for its turn) while
    instance B asks for tab-6; then A waits for tab-7, whose lock B holds and lets go.
    Returns what finished first: A's event of tab-7 or A's handler of tab-6."""
    a, b = _manager(redis_url, monkeypatch), _manager(redis_url, monkeypatch)
    if aside:
        assert redis_store.answer_aside(SimpleNamespace(state_manager=a))
    await _lease(a, "tab-6")
    finished: list[str] = []
    letting_go = asyncio.Event()

    async def handler() -> None:
        async with a.modify_state(_token("tab-6")):
            await letting_go.wait()
        finished.append("tab-6 handler")

    async def b_asks_for_tab_6() -> None:
        async with b.modify_state(_token("tab-6")):
            pass

    async def a_event_of_tab_7() -> None:
        async with a.modify_state(_token("tab-7")):
            pass
        finished.append("tab-7 event")

    holding = asyncio.create_task(handler())
    await asyncio.sleep(0.2)
    asking = asyncio.create_task(b_asks_for_tab_6())
    await asyncio.sleep(0.3)  # A has read B's request (and, answering it inline, waits)
    async with b._lock(_token("tab-7")):
        other = asyncio.create_task(a_event_of_tab_7())
        await asyncio.sleep(0.3)  # A waits for tab-7's lock
    # B let tab-7 go: A hears of it from its lock notifications, unless they are held up.
    await asyncio.wait({other}, timeout=3)
    letting_go.set()
    await asyncio.wait_for(asyncio.gather(holding, other, asking), 30)
    for manager in (a, b):
        await redis_store.forget_leases(manager)
        await manager.close()
    return finished


def test_a_handler_holding_its_tab_does_not_hold_up_the_lock_notifications_of_other_tabs(
    redis_url, monkeypatch
):
    finished = run_async(_other_tab_while_held(True, redis_url, monkeypatch))
    assert finished == ["tab-7 event", "tab-6 handler"]


def test_reflexs_own_answer_holds_up_every_lock_notification_while_a_handler_holds_its_tab(
    redis_url, monkeypatch
):
    """What `answer_aside` prevents, on the same Reflex: tab-7's event waited for tab-6."""
    finished = run_async(_other_tab_while_held(False, redis_url, monkeypatch))
    assert finished == ["tab-6 handler", "tab-7 event"]


async def _asked_for_while_held_past_the_lease(aside: bool, redis_url: str, monkeypatch):
    """Instance A's handler holds tab-8 past its lease's hold time (renewing the lock, as a
    page load waiting for its turn does) and changes it; instance B asks for tab-8 meanwhile.
    Returns what B then reads of tab-8, and the errors of the loop."""
    a, b = _short_locks(redis_url, monkeypatch), _short_locks(redis_url, monkeypatch)
    if aside:
        assert redis_store.answer_aside(SimpleNamespace(state_manager=a))
    errors: list = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    await _lease(a, "tab-8")
    read: list[dict] = []

    async def handler() -> None:
        async with a.modify_state(_token("tab-8")) as root:
            async with redis_store.lock_kept(SimpleNamespace(state_manager=a), "tab-8"):
                await asyncio.sleep(1.5)  # the lease's hold (0.3 s) ends meanwhile
            (await root.get_state(AppState)).presence_map = {"7": ENTRY}

    async def b_asks_for_tab_8() -> None:
        async with b.modify_state(_token("tab-8")) as root:
            read.append(dict((await root.get_state(AppState)).get_value("presence_map")))

    holding = asyncio.create_task(handler())
    await asyncio.sleep(0.1)
    await asyncio.wait_for(asyncio.gather(holding, b_asks_for_tab_8()), 30)
    await asyncio.sleep(0.5)
    for manager in (a, b):
        await redis_store.forget_leases(manager)
        await manager.close()
    return read, [repr(c.get("exception")) for c in errors]


def test_a_lease_asked_for_while_its_handler_holds_it_writes_back_before_the_tab_changes_hands(
    redis_url, monkeypatch
):
    read, errors = run_async(_asked_for_while_held_past_the_lease(True, redis_url, monkeypatch))
    assert read == [{"7": ENTRY}]
    assert not any("LockExpired" in e for e in errors)


def test_reflexs_own_answer_ends_a_lease_that_is_writing_back_and_the_write_is_lost(redis_url, monkeypatch):
    """What `answer_aside` prevents, on the same Reflex: B read the tab without A's change,
    and A's write-back was refused."""
    read, errors = run_async(_asked_for_while_held_past_the_lease(False, redis_url, monkeypatch))
    assert read == [{}]
    assert any("LockExpired" in e for e in errors)


async def _write_back_with_the_pool_busy(redis_url: str, monkeypatch, *, patient: bool):
    """Instance A leases tab-9 and changes it in place; its lease ends while something
    else holds the only free connection of its bounded pool for 1.5 s (the pool's own
    wait: 0.3 s). Returns what Redis holds for the tab afterwards and A's loop errors."""
    from redis.asyncio import BlockingConnectionPool
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")
    monkeypatch.setenv("REFLEX_OPLOCK_HOLD_TIME", "30s")
    # Two connections: one for the lock notifications' subscription, one for the rest.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=2, timeout=0.3)
    manager = StateManagerRedis(
        redis=Redis.from_pool(pool), lock_expiration=60_000, lock_warning_threshold=30_000
    )
    if patient:
        assert redis_store.patient_write_backs(SimpleNamespace(state_manager=manager))
    errors: list = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    await _lease(manager, "tab-9")
    state_of, _ = tabs._local_states(manager)
    sub = state_of("tab-9").get_substate(AppState.get_full_name().split("."))
    sub._presence_changed_in_place(ENTRY)
    sub._was_touched = True
    busy = await pool.get_connection()  # every other caller of the pool now waits
    lease = manager._local_leases["tab-9"]
    lease.cancel()
    await asyncio.sleep(1.5)
    await pool.release(busy)
    await asyncio.gather(lease, return_exceptions=True)
    stored = await _stored_presence(manager, "tab-9")
    await manager.redis.aclose()
    return stored, errors


def test_a_write_back_that_finds_the_pool_busy_waits_for_a_connection_and_writes(redis_url, monkeypatch):
    stored, errors = run_async(_write_back_with_the_pool_busy(redis_url, monkeypatch, patient=True))
    assert stored == {"7": ENTRY}
    assert errors == []


def test_without_patience_the_write_back_fails_on_the_pool_and_the_changes_are_lost(redis_url, monkeypatch):
    """What `patient_write_backs` prevents, shown on the same Reflex and redis-py; and the
    failure is the one `pool_timed_out` recognises."""
    stored, errors = run_async(_write_back_with_the_pool_busy(redis_url, monkeypatch, patient=False))
    assert "7" not in stored
    assert any(redis_pool.pool_timed_out(c.get("exception")) for c in errors)


async def _delivery_with_the_pool_busy(redis_url: str, monkeypatch) -> tuple[int, dict]:
    """A change delivered the long way (`tabs.deliver`: the tab's lock, its state, the
    write) while something else holds the only free connection of the pool for 1.5 s
    (the pool's own wait: 0.3 s). Returns how many tabs it reached and what Redis holds."""
    from redis.asyncio import BlockingConnectionPool
    from reflex.istate.manager.redis import StateManagerRedis

    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "false")
    # Two connections: one for the lock notifications' subscription, one for the rest.
    pool = BlockingConnectionPool.from_url(redis_url, max_connections=2, timeout=0.3)
    manager = StateManagerRedis(
        redis=Redis.from_pool(pool), lock_expiration=60_000, lock_warning_threshold=30_000
    )
    async with manager.modify_state(rx.BaseStateToken(ident="tab-11", cls=AppState)):
        pass  # the subscription is made (it holds its connection from now on)
    await asyncio.sleep(0.2)
    # Reflex's App.modify_state is the manager's, plus sending the delta to the tab's
    # socket (there is none here).
    app = SimpleNamespace(state_manager=manager, modify_state=manager.modify_state)

    def apply(state) -> None:
        state.presence_map = {"7": ENTRY}

    busy = await pool.get_connection()  # every other caller of the pool now waits
    delivering = asyncio.create_task(tabs.deliver(app, ["tab-10"], AppState, apply))
    await asyncio.sleep(1.5)
    await pool.release(busy)
    reached = await delivering
    stored = await _stored_presence(manager, "tab-10")
    await manager.redis.aclose()
    return reached, stored


def test_a_delivery_that_finds_the_pool_busy_waits_for_a_connection_and_is_made(redis_url, monkeypatch):
    """With `tabs.POOL_PATIENCE` set to 0 this fails: the delivery gives up after the
    pool's 0.3 s, logs an error and reaches no tab, and the change is lost."""
    reached, stored = run_async(_delivery_with_the_pool_busy(redis_url, monkeypatch))
    assert reached == 1
    assert stored == {"7": ENTRY}
