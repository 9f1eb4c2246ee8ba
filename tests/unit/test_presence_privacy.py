"""Presence choices: appear offline, do not disturb (with an end), hide last seen.

Same world as test_presence_service: alice's contacts are bob (direct) and dave (group).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from chatapp.presence.logic import Status, Tab, aggregate, chosen_in_force, epoch_ms
from tests.support import run_async
from tests.unit.presence_world import T0, make_probe, profile_of


def test_aggregate_shows_invisible_as_offline_and_dnd_over_activity():
    tabs = [Tab(token="a", sid="s", user_id=1)]
    assert aggregate(tabs, chosen="invisible") == Status.OFFLINE
    assert aggregate(tabs, chosen="dnd") == Status.DND
    assert aggregate([Tab(token="a", sid="s", user_id=1, idle=True)], chosen="dnd") == Status.DND
    assert aggregate([], chosen="dnd") == Status.OFFLINE


def test_a_chosen_status_ends_at_its_time():
    until = T0 + timedelta(hours=1)
    assert chosen_in_force("dnd", until, T0) == "dnd"
    assert chosen_in_force("dnd", until, until) is None
    assert chosen_in_force("dnd", None, T0 + timedelta(days=400)) == "dnd"
    assert chosen_in_force(None, until, T0) is None


def _statuses(sent, user_id):
    return [entry["status"] for _, entry in sent if entry["user_id"] == user_id]


def test_appearing_offline_publishes_offline_at_once_with_last_seen_frozen(session_factory, ids):
    alice = ids["alice"]

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="a1", sid="s1", user_id=alice)
        await p.settled()
        p.now[0] = T0 + timedelta(minutes=1)
        await p.service.set_chosen(user_id=alice, status="invisible")
        went_invisible = await p.settled()
        # Later activity of alice: idle, input, a new tab, the flush, closing every tab.
        p.now[0] = T0 + timedelta(minutes=30)
        await p.service.set_idle(token="a1", idle=True)
        await p.service.set_idle(token="a1", idle=False)
        await p.service.mark_online(token="a2", sid="s2", user_id=alice)
        await p.service.flush_last_seen()
        await p.service.mark_offline(token="a1", sid="s1")
        await p.service.mark_offline(token="a2", sid="s2")
        await asyncio.sleep(0.1)
        later = await p.settled()
        snapshot = (await p.service.snapshot(ids["bob"]))[str(alice)]
        await p.service.close()
        return went_invisible, later, snapshot

    went_invisible, later, snapshot = run_async(scenario())
    frozen = epoch_ms(T0 + timedelta(minutes=1))
    bob_entries = [e for tokens, e in went_invisible if "b1" in tokens]
    assert [(e["status"], e["last_seen_at"]) for e in bob_entries] == [("offline", frozen)]
    assert later == []  # nothing about alice reached anyone while she was invisible
    assert (snapshot["status"], snapshot["last_seen_at"]) == ("offline", frozen)
    assert profile_of(session_factory, alice).last_seen_at == T0 + timedelta(minutes=1)
    assert profile_of(session_factory, alice).chosen_status == "invisible"


def test_back_from_invisible_to_automatic_is_online(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.service.set_chosen(user_id=ids["alice"], status="invisible")
        await p.settled()
        await p.service.set_chosen(user_id=ids["alice"], status=None)
        sent = await p.settled()
        await p.service.close()
        return sent

    assert _statuses(run_async(scenario()), ids["alice"]) == ["online"]


def test_do_not_disturb_shows_until_it_ends_by_itself(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.settled()
        # Ends 0.05 s after the (held) clock; the expiry timer runs on the real one.
        await p.service.set_chosen(user_id=ids["alice"], status="dnd", until=T0 + timedelta(seconds=0.05))
        dnd = await p.settled()
        p.now[0] = T0 + timedelta(seconds=1)
        await asyncio.sleep(0.15)
        ended = await p.settled()
        await p.service.close()
        return dnd, ended

    dnd, ended = run_async(scenario())
    assert _statuses(dnd, ids["alice"]) == ["dnd"]
    assert _statuses(ended, ids["alice"]) == ["online"]
    assert profile_of(session_factory, ids["alice"]).chosen_status is None


def test_a_status_no_user_may_choose_is_refused(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        with pytest.raises(ValueError, match="not a status"):
            await p.service.set_chosen(user_id=ids["alice"], status="online-ish")
        await p.service.close()

    run_async(scenario())
    assert profile_of(session_factory, ids["alice"]).chosen_status is None


def test_hiding_last_seen_reaches_every_watcher_at_once_and_is_mutual(session_factory, ids):
    alice, bob = ids["alice"], ids["bob"]

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=bob)
        await p.service.mark_online(token="a1", sid="s1", user_id=alice)
        await p.service.mark_offline(token="b1", sid="sb")
        await asyncio.sleep(0.1)
        await p.service.mark_online(token="b2", sid="sb2", user_id=bob)
        await p.settled()
        bob_seen_before = (await p.service.snapshot(alice))[str(bob)]["last_seen_at"]
        await p.service.set_hide_last_seen(user_id=alice, hide=True)
        to_watchers = await p.settled()
        snapshots = list(p.snapshots)
        alice_for_bob = (await p.service.snapshot(bob))[str(alice)]
        await p.service.close()
        return bob_seen_before, to_watchers, snapshots, alice_for_bob

    bob_seen_before, to_watchers, snapshots, alice_for_bob = run_async(scenario())
    assert bob_seen_before is not None
    entries = [e for tokens, e in to_watchers if "b2" in tokens and e["user_id"] == alice]
    assert entries and entries[-1]["last_seen_at"] is None
    assert alice_for_bob["last_seen_at"] is None
    # Alice's own tab got a fresh map in which nobody has a last-seen time.
    (tokens, snapshot), *_ = snapshots
    assert tokens == ["a1"]
    assert all(e["last_seen_at"] is None for uid, e in snapshot.items() if uid != str(alice))
    assert profile_of(session_factory, alice).hide_last_seen is True
