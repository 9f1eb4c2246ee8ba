"""Last seen is written when a user comes online, once, so that a crash of the single
instance (SIGKILL: no flush on shutdown) never leaves a user who was online without one.

Real database, real registry, real service (see presence_world); a "crash" is a service
dropped without `close()`, and a "restart" a new service on the same database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from chatapp.presence.logic import epoch_ms
from tests.support import run_async
from tests.unit.presence_world import T0, alice_gone_at, bob_watching_alice, make_probe, profile_of


@pytest.fixture
def last_seen_writes(engine) -> list[str]:
    """Every statement that writes a last seen, as the database receives it."""
    writes: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE PROFILE") and "last_seen_at" in statement:
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield writes
    event.remove(engine, "before_cursor_execute", record)


def test_a_crash_after_the_first_tab_leaves_the_connect_time_as_last_seen(session_factory, ids):
    async def crash():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        # SIGKILL: no close(), so neither the shutdown flush nor the periodic one ran.

    async def restart():
        p = make_probe(session_factory)
        p.now[0] = T0 + timedelta(minutes=1)
        snapshot = await p.service.snapshot(ids["bob"])
        await p.service.close()
        return snapshot[str(ids["alice"])]

    run_async(crash())
    assert profile_of(session_factory, ids["alice"]).last_seen_at == T0
    alice = run_async(restart())
    assert alice["status"] == "offline"
    assert alice["last_seen_at"] == epoch_ms(T0)


def test_last_seen_is_written_once_per_coming_online_not_per_tab(session_factory, ids, last_seen_writes):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.settled()
        on_first_tab = len(last_seen_writes)

        p.now[0] = T0 + timedelta(seconds=10)
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        await p.service.mark_online(token="a3", sid="s3", user_id=ids["alice"])
        await p.service.mark_offline(token="a1", sid="s1")  # a reload of a1, within the grace
        await p.service.mark_online(token="a1", sid="s4", user_id=ids["alice"])
        await p.service.set_idle(token="a1", idle=True)
        await p.settled()
        on_more_tabs = len(last_seen_writes) - on_first_tab
        last_seen = profile_of(session_factory, ids["alice"]).last_seen_at
        await p.service.close()
        return on_first_tab, on_more_tabs, last_seen

    on_first_tab, on_more_tabs, last_seen = run_async(scenario())
    assert on_first_tab == 1
    assert on_more_tabs == 0
    assert last_seen == T0


def test_coming_back_after_being_offline_writes_last_seen_again(session_factory, ids):
    closed_at = T0 + timedelta(minutes=5)
    back_at = T0 + timedelta(hours=2)

    async def scenario():
        p = make_probe(session_factory)
        await alice_gone_at(p, ids, closed_at)
        gone = profile_of(session_factory, ids["alice"]).last_seen_at
        p.now[0] = back_at
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        await p.settled()
        back = profile_of(session_factory, ids["alice"]).last_seen_at
        await p.service.close()
        return gone, back

    assert run_async(scenario()) == (closed_at, back_at)


def test_a_user_appearing_offline_keeps_a_frozen_last_seen_when_a_tab_connects(session_factory, ids):
    chosen_at = T0 + timedelta(minutes=1)
    reconnected_at = T0 + timedelta(hours=1)
    visible_at = T0 + timedelta(hours=2)

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        p.now[0] = chosen_at
        await p.service.set_chosen(user_id=ids["alice"], status="invisible")
        await p.service.mark_offline(token="a1", sid="s1")
        p.now[0] = reconnected_at
        await p.service.mark_online(token="a1", sid="s2", user_id=ids["alice"])
        await p.settled()
        frozen = profile_of(session_factory, ids["alice"]).last_seen_at
        p.now[0] = visible_at
        await p.service.set_chosen(user_id=ids["alice"], status=None)  # visible again: seen now
        await p.settled()
        visible = profile_of(session_factory, ids["alice"]).last_seen_at
        await p.service.close()
        return frozen, visible

    assert run_async(scenario()) == (chosen_at, visible_at)
