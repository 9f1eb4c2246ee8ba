"""The rules of a presence shared by several instances (pure), and the in-process
registry's side of the same contract: records, revisions, compare-and-publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatapp.presence.logic import Action, Status, Tab, dead_instances, decide, next_version
from chatapp.presence.logic import offline_last_seen as last_seen
from chatapp.presence.redis_registry import from_us, to_us
from chatapp.presence.registry import InProcessRegistry
from chatapp.presence.shared import Choices, Published, UserRecord
from chatapp.presence.store import PersonFacts
from chatapp.presence.views import view
from tests.support import run_async

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
GRACE = timedelta(seconds=1.5)
ON, AWAY, OFF = Status.ONLINE, Status.AWAY, Status.OFFLINE

# decide ------------------------------------------------------------------------


def test_decide_last_tab_gone_waits_for_the_due_grace():
    assert decide(ON, OFF, grace_due=True, grace_over=False) == Action.START_GRACE


def test_decide_publishes_offline_when_the_grace_it_runs_for_is_over():
    assert decide(ON, OFF, grace_due=True, grace_over=True) == Action.PUBLISH


def test_decide_publishes_offline_at_once_when_no_grace_is_due():
    # Nobody would ever publish it otherwise (a record left without a due time).
    assert decide(AWAY, OFF, grace_due=False, grace_over=False) == Action.PUBLISH


def test_decide_immediate_skips_the_grace():
    assert decide(ON, OFF, grace_due=True, grace_over=False, immediate=True) == Action.PUBLISH


def test_decide_offline_already_published_does_nothing_even_when_over():
    assert decide(OFF, OFF, grace_due=True, grace_over=True) == Action.NOTHING


def test_decide_a_tab_back_before_the_timer_fires_does_nothing():
    assert decide(ON, ON, grace_due=False, grace_over=False) == Action.NOTHING


@pytest.mark.parametrize("published", list(Status))
def test_decide_never_publishes_offline_while_a_grace_is_due_and_not_over(published):
    assert decide(published, OFF, grace_due=True, grace_over=False) != Action.PUBLISH


@pytest.mark.parametrize("grace_due", [True, False])
def test_decide_real_changes_publish_whatever_the_grace(grace_due):
    assert decide(ON, AWAY, grace_due=grace_due, grace_over=False) == Action.PUBLISH
    assert decide(OFF, ON, grace_due=grace_due, grace_over=False) == Action.PUBLISH


# Versions, last seen, dead instances, times ------------------------------------------


def test_next_version_grows_by_one_within_a_microsecond_and_follows_the_clock_otherwise():
    assert next_version(100, 50) == 101
    assert next_version(100, 5_000) == 5_000
    assert next_version(0, 0) == 1


def test_offline_last_seen_is_the_moment_of_going_invisible_with_tabs_open():
    assert last_seen(None, T0, has_tabs=True) == T0
    # Without tabs the last seen stays when the last tab ended.
    assert last_seen(T0 - timedelta(minutes=5), T0, has_tabs=False) == T0 - timedelta(minutes=5)
    assert last_seen(T0, None, has_tabs=False) == T0
    assert last_seen(None, None, has_tabs=False) is None


def test_dead_instances_are_those_not_alive_and_never_oneself():
    beats = {"a": 1, "b": 2, "me": 3}
    assert dead_instances(beats, alive={"a"}, me="me") == {"b": 2}
    assert dead_instances(beats, alive={"a", "b"}, me="me") == {}


def test_microsecond_times_round_trip_exactly():
    moment = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
    assert from_us(str(to_us(moment))) == moment
    assert from_us(float(to_us(moment))) == moment  # a sorted-set score
    assert from_us(b"") is None and from_us(None) is None


# What watchers see --------------------------------------------------------------------

FACTS = PersonFacts(
    user_id=7,
    username="alice",
    display_name="Alice",
    last_seen_at=T0,
    chosen_status="dnd",
    chosen_until=None,
    hide_last_seen=False,
)


def test_view_shows_what_was_published():
    published = Published(status=AWAY, version=42, last_seen_at=T0 + timedelta(hours=1))
    data = view(FACTS, UserRecord(user_id=7, published=published), T0)
    assert (data.status, data.version, data.last_seen_at) == (
        AWAY,
        42,
        int((T0 + timedelta(hours=1)).timestamp() * 1000),
    )


def test_view_before_anything_was_published_is_the_truth_now_from_the_record_or_the_database():
    tab = Tab(token="t", sid="s", user_id=7)
    assert view(FACTS, UserRecord(user_id=7, tabs=(tab,)), T0).status == Status.DND  # from the database
    record = UserRecord(user_id=7, tabs=(tab,), choices=Choices())  # the registry's newer choice
    assert view(FACTS, record, T0).status == ON
    assert view(FACTS, UserRecord(user_id=7), T0).version == 0


# The in-process registry --------------------------------------------------------------


def test_a_commit_from_a_stale_read_is_refused_and_a_fresh_one_accepted():
    async def scenario():
        reg = InProcessRegistry()
        await reg.register(Tab(token="t1", sid="s1", user_id=1), now=T0, grace=GRACE)
        read = await reg.record(1)
        await reg.set_idle("t1", True)  # a change after the read
        stale = await reg.commit(read, Published(ON, 10, None))
        fresh_read = await reg.record(1)
        fresh = await reg.commit(fresh_read, Published(AWAY, 11, None))
        again = await reg.commit(fresh_read, Published(AWAY, 12, None))  # the same read twice
        return stale, fresh, again, await reg.record(1)

    stale, fresh, again, record = run_async(scenario())
    assert (stale, fresh, again) == (False, True, False)
    assert record.published == Published(AWAY, 11, None)


def test_the_last_tab_gone_records_its_end_and_the_due_offline_and_a_tab_back_clears_both():
    async def scenario():
        reg = InProcessRegistry()
        await reg.register(Tab(token="t1", sid="s1", user_id=1), now=T0, grace=GRACE)
        await reg.register(Tab(token="t2", sid="s2", user_id=1), now=T0, grace=GRACE)
        await reg.unregister("t1", "s1", now=T0, grace=GRACE)
        one_left = await reg.record(1)
        await reg.unregister("t2", "wrong socket", now=T0, grace=GRACE)  # a stale close: ignored
        await reg.unregister("t2", "s2", now=T0 + timedelta(seconds=3), grace=GRACE)
        none_left = await reg.record(1)
        pending = await reg.release(now=T0 + timedelta(seconds=4), grace=GRACE)
        await reg.register(Tab(token="t3", sid="s3", user_id=1), now=T0, grace=GRACE)
        return one_left, none_left, pending, await reg.record(1)

    one_left, none_left, pending, back = run_async(scenario())
    assert (one_left.ended_at, one_left.grace_due, len(one_left.tabs)) == (None, None, 1)
    assert none_left.ended_at == T0 + timedelta(seconds=3)
    assert none_left.grace_due == T0 + timedelta(seconds=3) + GRACE
    assert pending == {1: T0 + timedelta(seconds=3)}
    assert (back.ended_at, back.grace_due) == (None, None)


def test_a_tab_signed_in_as_someone_else_ends_the_previous_users_tab():
    async def scenario():
        reg = InProcessRegistry()
        await reg.register(Tab(token="t", sid="s1", user_id=1), now=T0, grace=GRACE)
        replaced = await reg.register(Tab(token="t", sid="s2", user_id=2), now=T0, grace=GRACE)
        return replaced, await reg.record(1), await reg.record(2)

    replaced, first, second = run_async(scenario())
    assert replaced.user_id == 1
    assert (first.tabs, first.ended_at, first.grace_due) == ((), T0, T0 + GRACE)
    assert [t.token for t in second.tabs] == ["t"]


def test_choices_seeded_from_the_database_never_overwrite_a_newer_one():
    async def scenario():
        reg = InProcessRegistry()
        held = await reg.seed_choices(1, Choices(chosen="away"))
        rev = (await reg.record(1)).rev
        await reg.store_choices(1, chosen=None)
        after_change = await reg.seed_choices(1, Choices(chosen="away"))  # a late, older read
        return held, rev, after_change, await reg.record(1)

    held, rev, after_change, record = run_async(scenario())
    assert held == Choices(chosen="away")
    assert rev == 0  # seeding is no change
    assert after_change == Choices(chosen=None)
    assert record.rev == 1  # choosing is
