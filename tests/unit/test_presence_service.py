"""`PresenceService` end to end below the Reflex fan-out: real database, real registry,
real timers; the only stand-in is `deliver`, which records what would be pushed to tabs.

The world of every test: alice and bob share a direct chat, alice and dave a group,
bob and carol a direct chat. So alice's contacts are bob and dave, never carol.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

from chatapp.models import utcnow
from chatapp.presence.drops import MassDrops
from chatapp.presence.logic import Status, epoch_ms
from chatapp.services import conversations
from tests.support import run_async
from tests.unit.presence_world import (
    PAST_GRACE,
    T0,
    after_the_grace,
    alice_gone_at,
    bob_watching_alice,
    make_probe,
    profile_of,
)

# Going online -------------------------------------------------------------------------


def test_mark_online_publishes_to_contacts_and_own_tabs_but_not_to_strangers(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb1", user_id=ids["bob"])
        await p.service.mark_online(token="c1", sid="sc1", user_id=ids["carol"])
        await p.service.mark_online(token="d1", sid="sd1", user_id=ids["dave"])
        await p.settled()

        await p.service.mark_online(token="a1", sid="sa1", user_id=ids["alice"])
        sent = await p.settled()
        await p.service.close()
        return sent

    sent = run_async(scenario())
    assert len(sent) == 1
    tokens, entry = sent[0]
    assert tokens == ["a1", "b1", "d1"]
    assert "c1" not in tokens
    assert entry["type"] == "presence"
    assert entry["user_id"] == ids["alice"]
    assert entry["username"] == "alice"
    assert entry["status"] == "online"
    assert entry["is_online"] is True


def test_mark_online_of_a_contact_reaches_each_open_tab_of_the_watcher(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        await p.settled()
        await p.service.mark_online(token="b1", sid="s3", user_id=ids["bob"])
        sent = await p.settled()
        await p.service.close()
        return sent

    sent = run_async(scenario())
    assert [(tokens, entry["user_id"], entry["status"]) for tokens, entry in sent] == [
        (["a1", "a2", "b1"], ids["bob"], "online")
    ]


def test_mark_online_with_nobody_watching_delivers_nothing_but_records_the_status(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="c1", sid="s1", user_id=ids["carol"])
        await p.settled()
        await p.service.mark_online(token="d1", sid="s2", user_id=ids["dave"])
        sent = await p.settled()  # dave's own tab is watching
        status = await p.service.status_of(ids["dave"])
        await p.service.close()
        return sent, status

    sent, status = run_async(scenario())
    assert [tokens for tokens, _ in sent] == [["d1"]]
    assert status == Status.ONLINE


def test_second_tab_publishes_nothing_new(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        sent = await p.settled()
        tabs = await p.service.registry.tabs_of(ids["alice"])
        await p.service.close()
        return sent, tabs

    sent, tabs = run_async(scenario())
    assert sent == []
    assert sorted(t.token for t in tabs) == ["a1", "a2"]


# Going offline ------------------------------------------------------------------------


def test_closing_one_of_two_tabs_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids, alice_tabs=2)
        await p.service.mark_offline(token="a1", sid="s1")
        return await after_the_grace(p, ids["alice"])

    sent, status = run_async(scenario())
    assert sent == []
    assert status == Status.ONLINE


def test_closing_the_last_tab_publishes_offline_only_after_the_grace(session_factory, ids):
    closed_at = T0 + timedelta(minutes=5)

    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)

        p.now[0] = closed_at
        await p.service.mark_offline(token="a1", sid="s1")
        p.now[0] = closed_at + timedelta(minutes=10)  # the grace ends much later on this clock
        during_grace = await p.settled()
        status_during = await p.service.status_of(ids["alice"])

        await asyncio.sleep(PAST_GRACE)
        after_grace = await p.settled()
        status_after = await p.service.status_of(ids["alice"])
        await p.service.close()
        return during_grace, status_during, after_grace, status_after

    during_grace, status_during, after_grace, status_after = run_async(scenario())
    assert during_grace == []
    assert status_during == Status.ONLINE
    assert len(after_grace) == 1
    tokens, entry = after_grace[0]
    assert tokens == ["b1"]
    assert entry["user_id"] == ids["alice"]
    assert entry["status"] == "offline"
    assert entry["is_online"] is False
    assert entry["last_seen_at"] == epoch_ms(closed_at)
    assert status_after == Status.OFFLINE
    assert profile_of(session_factory, ids["alice"]).last_seen_at == closed_at


def test_reopen_within_the_grace_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        # A reload: the socket closes, and the same tab comes back on a new one.
        await p.service.mark_offline(token="a1", sid="s1")
        await p.service.mark_online(token="a1", sid="s2", user_id=ids["alice"])
        return await after_the_grace(p, ids["alice"])

    sent, status = run_async(scenario())
    assert sent == []  # neither offline nor a second online
    assert status == Status.ONLINE


def test_reopen_in_another_tab_within_the_grace_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        await p.service.mark_offline(token="a1", sid="s1")
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        await asyncio.sleep(PAST_GRACE)
        sent = await p.settled()
        await p.service.close()
        return sent

    assert run_async(scenario()) == []


def test_stale_socket_close_after_a_reconnect_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="a1", sid="old", user_id=ids["alice"])
        await p.service.mark_online(token="a1", sid="new", user_id=ids["alice"])
        await p.settled()
        await p.service.mark_offline(token="a1", sid="old")  # arrives after the reconnect
        return await after_the_grace(p, ids["alice"])

    sent, status = run_async(scenario())
    assert sent == []
    assert status == Status.ONLINE


def test_logout_publishes_offline_immediately(session_factory, ids):
    logout_at = T0 + timedelta(minutes=3)

    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        p.now[0] = logout_at
        await p.service.mark_offline(token="a1", sid=None)
        at_once = await p.settled()  # no sleep: no grace for a logout
        await asyncio.sleep(PAST_GRACE)
        later = await p.settled()
        await p.service.close()
        return at_once, later

    at_once, later = run_async(scenario())
    assert len(at_once) == 1
    tokens, entry = at_once[0]
    assert tokens == ["b1"]
    assert (entry["user_id"], entry["status"]) == (ids["alice"], "offline")
    assert entry["last_seen_at"] == epoch_ms(logout_at)
    assert later == []  # and no second offline when a grace would have ended
    assert profile_of(session_factory, ids["alice"]).last_seen_at == logout_at


def test_logout_of_one_tab_while_another_is_open_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids, alice_tabs=2)
        await p.service.mark_offline(token="a1", sid=None)
        sent = await p.settled()
        await p.service.close()
        return sent

    assert run_async(scenario()) == []


def test_tab_switching_account_takes_the_previous_user_offline_with_last_seen(session_factory, ids):
    switched_at = T0 + timedelta(minutes=7)

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="t1", sid="s1", user_id=ids["alice"])
        await p.settled()
        p.now[0] = switched_at
        # The same tab (same client token) now loads a page signed in as dave.
        await p.service.mark_online(token="t1", sid="s2", user_id=ids["dave"])
        p.now[0] = switched_at + timedelta(minutes=10)
        await asyncio.sleep(PAST_GRACE)
        sent = await p.settled()
        await p.service.close()
        return sent

    sent = run_async(scenario())
    alice_entries = [entry for _, entry in sent if entry["user_id"] == ids["alice"]]
    assert [entry["status"] for entry in alice_entries] == ["offline"]
    assert alice_entries[0]["last_seen_at"] == epoch_ms(switched_at)
    assert profile_of(session_factory, ids["alice"]).last_seen_at == switched_at


# Idle and chosen status ---------------------------------------------------------------


def test_idle_in_every_tab_is_away_and_input_in_one_is_online(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids, alice_tabs=2)
        steps = []
        await p.service.set_idle(token="a1", idle=True)
        steps.append(await p.settled())  # a2 still active: nothing
        await p.service.set_idle(token="a2", idle=True)
        steps.append(await p.settled())  # every tab idle: away
        await p.service.set_idle(token="a1", idle=False)
        steps.append(await p.settled())  # input in one tab: online
        await p.service.close()
        return steps

    one_idle, all_idle, input_again = run_async(scenario())
    assert one_idle == []
    assert [(e["user_id"], e["status"], e["is_online"]) for _, e in all_idle] == [
        (ids["alice"], "away", True)
    ]
    assert all_idle[0][0] == ["a1", "a2", "b1"]
    assert [(e["user_id"], e["status"]) for _, e in input_again] == [(ids["alice"], "online")]


def test_a_page_load_in_an_idle_tab_makes_the_user_online_again(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.service.set_idle(token="a1", idle=True)
        await p.settled()
        await p.service.mark_online(token="a1", sid="s2", user_id=ids["alice"])
        sent = await p.settled()
        status = await p.service.status_of(ids["alice"])
        await p.service.close()
        return sent, status

    sent, status = run_async(scenario())
    assert [entry["status"] for _, entry in sent] == ["online"]
    assert status == Status.ONLINE


def test_set_idle_of_an_unknown_tab_publishes_nothing(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.settled()
        await p.service.set_idle(token="ghost", idle=True)
        sent = await p.settled()
        await p.service.close()
        return sent

    assert run_async(scenario()) == []


def test_chosen_away_beats_activity_until_back_to_automatic(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        steps = []
        await p.service.set_chosen(user_id=ids["alice"], status="away")
        steps.append(await p.settled())
        await p.service.set_idle(token="a1", idle=False)  # activity
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])  # a new active tab
        steps.append(await p.settled())
        await p.service.set_chosen(user_id=ids["alice"], status=None)
        steps.append(await p.settled())
        await p.service.close()
        return steps

    chose_away, activity, automatic = run_async(scenario())
    assert [(e["user_id"], e["status"]) for _, e in chose_away] == [(ids["alice"], "away")]
    assert activity == []
    assert [(e["user_id"], e["status"]) for _, e in automatic] == [(ids["alice"], "online")]


def test_chosen_status_is_persisted_in_the_profile(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.set_chosen(user_id=ids["alice"], status="away")
        chosen = profile_of(session_factory, ids["alice"]).chosen_status
        await p.service.set_chosen(user_id=ids["alice"], status=None)
        automatic = profile_of(session_factory, ids["alice"]).chosen_status
        await p.service.close()
        return chosen, automatic

    assert run_async(scenario()) == ("away", None)


def test_chosen_away_holds_across_a_restart(session_factory, ids):
    async def scenario():
        first = make_probe(session_factory)
        await first.service.set_chosen(user_id=ids["alice"], status="away")
        await first.service.close()

        second = make_probe(session_factory)  # a new process reading the same database
        await second.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await second.settled()
        await second.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        sent = await second.settled()
        await second.service.close()
        return sent

    sent = run_async(scenario())
    assert [(e["user_id"], e["status"]) for _, e in sent] == [(ids["alice"], "away")]


# Versions and snapshots ---------------------------------------------------------------


def test_versions_of_a_users_changes_strictly_increase(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.settled()
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.service.set_idle(token="a1", idle=True)
        await p.service.set_idle(token="a1", idle=False)
        await p.service.set_chosen(user_id=ids["alice"], status="away")
        await p.service.set_chosen(user_id=ids["alice"], status=None)
        await p.service.mark_offline(token="a1", sid="s1")
        await asyncio.sleep(PAST_GRACE)
        await p.service.mark_online(token="a1", sid="s2", user_id=ids["alice"])
        sent = await p.settled()
        await p.service.close()
        return sent

    sent = run_async(scenario())
    alice = [entry for _, entry in sent if entry["user_id"] == ids["alice"]]
    assert [e["status"] for e in alice] == ["online", "away", "online", "away", "online", "offline", "online"]
    # `sent` is in the order the changes were published (each delivery records its
    # entry before its first await): every change carries a larger version than the last.
    versions = [e["v"] for e in alice]
    assert all(earlier < later for earlier, later in itertools.pairwise(versions))


def test_snapshot_has_exactly_the_user_and_their_contacts(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="c1", sid="sc", user_id=ids["carol"])
        await p.settled()
        snap = await p.service.snapshot(ids["alice"])
        await p.service.close()
        return snap

    snap = run_async(scenario())
    assert set(snap) == {str(ids["alice"]), str(ids["bob"]), str(ids["dave"])}
    assert snap[str(ids["bob"])]["status"] == "online"
    assert snap[str(ids["bob"])]["username"] == "bob"
    assert snap[str(ids["bob"])]["name"] == "Bob"
    assert snap[str(ids["dave"])]["status"] == "offline"
    assert snap[str(ids["dave"])]["is_online"] is False
    assert snap[str(ids["dave"])]["last_seen_at"] is None
    assert snap[str(ids["alice"])]["type"] == "presence"


def test_snapshots_give_the_tabs_that_show_a_person_one_copy_of_their_entry(session_factory, ids):
    """Alice and Carol both see Bob: their tabs hold the same entry for him (memory per
    tab), until he changes; then the new entry is a new dict and the old one is left as
    it was (a tab is changed by its own delta, never behind its back)."""

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.settled()
        alices, carols = await p.service.snapshot(ids["alice"]), await p.service.snapshot(ids["carol"])
        await p.service.set_chosen(user_id=ids["bob"], status="away")
        await p.settled()
        later = await p.service.snapshot(ids["carol"])
        await p.service.close()
        return alices, carols, later

    alices, carols, later = run_async(scenario())
    bob = str(ids["bob"])
    assert alices[bob] is carols[bob]
    assert next(k for k in alices if k == bob) is next(k for k in carols if k == bob)
    assert later[bob]["status"] == "away"
    assert alices[bob]["status"] == "online"


def test_snapshot_follows_membership_changes(session_factory, session, ids):
    async def before_and_after():
        p = make_probe(session_factory)
        before = set(await p.service.snapshot(ids["carol"]))
        conversations.create_group(session, user_id=ids["alice"], title="New", member_usernames=["carol"])
        after = set(await p.service.snapshot(ids["carol"]))
        await p.service.close()
        return before, after

    before, after = run_async(before_and_after())
    assert before == {str(ids["carol"]), str(ids["bob"])}
    assert after == {str(ids["carol"]), str(ids["bob"]), str(ids["alice"])}  # not dave: no shared chat


def test_snapshot_shows_the_published_offline_with_last_seen(session_factory, ids):
    closed_at = T0 + timedelta(minutes=1)

    async def scenario():
        p = make_probe(session_factory)
        await alice_gone_at(p, ids, closed_at)
        snap = await p.service.snapshot(ids["bob"])
        await p.service.close()
        return snap

    alice = run_async(scenario())[str(ids["alice"])]
    assert alice["status"] == "offline"
    assert alice["last_seen_at"] == epoch_ms(closed_at)


def test_snapshot_of_a_user_in_chosen_away_shows_away(session_factory, ids):
    async def scenario():
        first = make_probe(session_factory)
        await first.service.set_chosen(user_id=ids["alice"], status="away")
        await first.service.close()
        second = make_probe(session_factory)
        await second.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await second.settled()
        third_party_view = (await second.service.snapshot(ids["bob"]))[str(ids["alice"])]
        await second.service.close()
        return third_party_view

    assert run_async(scenario())["status"] == "away"


# Shutdown -----------------------------------------------------------------------------


def test_close_records_connected_users_as_seen_now(session_factory, ids):
    stopped_at = T0 + timedelta(hours=1)

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.settled()
        p.now[0] = stopped_at
        await p.service.close()

    run_async(scenario())
    assert profile_of(session_factory, ids["alice"]).last_seen_at == stopped_at
    assert profile_of(session_factory, ids["carol"]).last_seen_at is None


def test_close_during_a_grace_records_when_the_last_tab_closed(session_factory, ids):
    closed_at = T0 + timedelta(minutes=2)

    async def scenario():
        p = make_probe(session_factory)
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.settled()
        p.now[0] = closed_at
        await p.service.mark_offline(token="a1", sid="s1")
        p.now[0] = closed_at + timedelta(minutes=30)
        await p.service.close()  # before the grace ran out

    run_async(scenario())
    assert profile_of(session_factory, ids["alice"]).last_seen_at == closed_at


def test_in_a_mass_drop_the_tabs_that_come_back_late_show_no_change_and_the_others_go_later(
    session_factory, ids
):
    """A restart closes every socket at once; the reconnects take longer than the grace.
    From the burst on, closes get the stretched grace: Alice, back after the usual grace,
    never blinked offline; Carol, who did not come back, goes offline after it."""
    stretched = timedelta(seconds=0.4)
    drops = MassDrops(window=timedelta(seconds=2), burst=2, stretched=stretched)

    async def scenario():
        p = make_probe(session_factory, drops)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        await p.service.mark_online(token="c1", sid="sc", user_id=ids["carol"])
        await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
        await p.settled()
        await p.service.mark_offline(token="d1", sid="sd")  # not a tab: counts as a close
        await p.service.mark_offline(token="a1", sid="s1")
        await p.service.mark_offline(token="c1", sid="sc")
        await asyncio.sleep(PAST_GRACE)  # the usual grace is over: nothing yet
        during = await p.settled()
        await p.service.mark_online(token="a1", sid="s1b", user_id=ids["alice"])  # back
        await asyncio.sleep(stretched.total_seconds() + PAST_GRACE)
        after = await p.settled()
        statuses = (await p.service.status_of(ids["alice"]), await p.service.status_of(ids["carol"]))
        await p.service.close()
        return during, after, statuses

    during, after, statuses = run_async(scenario())
    assert during == []
    assert [(e["user_id"], e["status"]) for _, e in after] == [(ids["carol"], "offline")]
    assert statuses == (Status.ONLINE, Status.OFFLINE)


def test_a_storm_longer_than_the_stretched_grace_puts_offlines_off_while_its_tabs_come_back(
    session_factory, ids
):
    """A mass drop whose tabs are still coming back after the stretched grace: Dave, back
    after it, never blinked offline; Carol, who did not come back, goes offline once the
    tabs stopped coming back for a lull, not at the end of the stretched grace."""
    stretched = lull = timedelta(seconds=0.6)
    drops = MassDrops(
        window=timedelta(seconds=2), burst=2, stretched=stretched, longest=timedelta(seconds=5), lull=lull
    )
    start = time.monotonic()

    async def at(seconds: float) -> None:
        await asyncio.sleep(max(0.0, start + seconds - time.monotonic()))

    async def scenario():
        nonlocal start
        p = make_probe(session_factory, drops, clock=utcnow)
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        for token, user in (("a1", "alice"), ("a2", "alice"), ("c1", "carol"), ("d1", "dave")):
            await p.service.mark_online(token=token, sid=f"s-{token}", user_id=ids[user])
        await p.settled()
        start = time.monotonic()
        await p.service.mark_offline(token="x0", sid="sx")  # not tabs: they count as closes
        await p.service.mark_offline(token="x1", sid="sx")
        for token in ("a1", "a2", "c1", "d1"):
            await p.service.mark_offline(token=token, sid=f"s-{token}")
        await at(0.3)
        assert await p.service.tab_reconnected(token="a2", sid="s-a2b")
        await at(0.9)  # past the stretched grace: Dave's tab is back
        assert await p.service.tab_reconnected(token="d1", sid="s-d1b")
        seen = await p.settled()
        await at(1.3)
        before = await p.settled()  # the storm went on within the lull: Carol still shown
        await at(2.4)
        after = await p.settled()
        statuses = [await p.service.status_of(ids[u]) for u in ("alice", "carol", "dave")]
        await p.service.close()
        return seen + before, after, statuses

    during, after, statuses = run_async(scenario())
    assert [(e["user_id"], e["status"]) for _, e in during] == []
    assert [(e["user_id"], e["status"]) for _, e in after] == [(ids["carol"], "offline")]
    assert statuses == [Status.ONLINE, Status.OFFLINE, Status.ONLINE]


def test_tabs_that_closed_before_the_drop_was_recognized_are_taken_back_current_as_its_others(
    session_factory, ids
):
    """A quarter of an instance's sockets close before their burst counts as a mass
    drop, each with the ordinary grace. Alice's two tabs close first; the third close
    (Bob's) makes the drop. Both her tabs, back long after the ordinary grace, are
    taken back with their states current (they got every change meanwhile), and do not
    load everything again. a2's close was recorded before the drop was recognized; a1's
    was still being recorded then, and extends its own keep."""
    drops = MassDrops(
        window=timedelta(seconds=2), burst=3, stretched=timedelta(seconds=30), longest=timedelta(seconds=120)
    )

    async def scenario():
        p = make_probe(session_factory, drops)
        registry = p.service.registry
        unregister = registry.unregister
        held = asyncio.Event()

        async def slow_for_a1(token, sid, **kwargs):
            if token == "a1":  # its close reaches the registry after the drop's third
                await held.wait()
            return await unregister(token, sid, **kwargs)

        registry.unregister = slow_for_a1
        await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
        for token in ("a1", "a2"):
            await p.service.mark_online(token=token, sid=f"s-{token}", user_id=ids["alice"])
        await p.settled()
        a1_closing = asyncio.ensure_future(p.service.mark_offline(token="a1", sid="s-a1"))
        await asyncio.sleep(0)
        await p.service.mark_offline(token="a2", sid="s-a2")
        await p.service.mark_offline(token="b1", sid="sb")  # the third close: a drop
        held.set()
        await a1_closing
        p.now[0] += timedelta(seconds=60)  # far past the ordinary grace
        receivers = await registry.tokens_of([ids["alice"]])
        back = []
        for token in ("a2", "a1"):
            taken = await p.service.tab_reconnected(token=token, sid=f"s-{token}b")
            back.append((token, taken, p.service.came_back_current(token, f"s-{token}b")))
        await p.service.close()
        return receivers, back

    receivers, back = run_async(scenario())
    assert sorted(receivers) == ["a1", "a2"]  # both still got Alice's changes
    assert back == [("a2", True, True), ("a1", True, True)]
