"""A Redis outage, below the sockets: `RedisWatch` turns pings into one "down" and one
"back" (sockets refused in between), and `PresenceService.tabs_dropped` takes back the
tabs an outage closed, whether the registry kept its data or lost it."""

from __future__ import annotations

import asyncio
import threading
import time

from chatapp.outage import RedisWatch
from chatapp.presence.logic import Status, Tab
from tests.support import run_async
from tests.unit.presence_world import GRACE, PAST_GRACE, bob_watching_alice, make_probe


def _watch(answers: list[bool], calls: list[str], back_fails: int = 0) -> RedisWatch:
    failures = [back_fails]

    def ping() -> None:
        if not answers.pop(0):
            raise ConnectionError("refused")

    async def on_down() -> None:
        calls.append("down")

    async def on_back() -> None:
        if failures[0]:
            failures[0] -= 1
            raise ConnectionError("gone again")
        calls.append("back")

    return RedisWatch(ping, on_down=on_down, on_back=on_back)


def test_a_watch_says_down_once_and_back_once_refusing_sockets_in_between():
    calls: list[str] = []
    answers = [True, False, False, False, True, True]
    watch = _watch(answers, calls)

    async def scenario():
        refusals = []
        for _ in range(6):
            await watch.check()
            refusals.append(watch.refusal() is not None)
        return refusals

    refusals = run_async(scenario())
    assert calls == ["down", "back"]
    assert refusals == [False, True, True, True, False, False]
    assert watch.outages == 1


def test_a_recovery_that_fails_keeps_sockets_refused_and_runs_again():
    calls: list[str] = []
    watch = _watch([False, True, True], calls, back_fails=1)

    async def scenario():
        states = []
        for _ in range(3):
            await watch.check()
            states.append(watch.down)
        return states

    assert run_async(scenario()) == [True, True, False]
    assert calls == ["down", "back"]


def test_a_ping_that_hangs_counts_as_down():
    calls: list[str] = []
    release = threading.Event()

    def ping() -> None:
        release.wait(10)

    async def note(what: str) -> None:
        calls.append(what)

    watch = RedisWatch(ping, on_down=lambda: note("down"), on_back=lambda: note("back"), timeout=0.05)
    run_async(watch.check())
    release.set()
    assert calls == ["down"]


def test_a_busy_event_loop_does_not_make_a_quick_ping_look_slow():
    calls: list[str] = []

    async def note(what: str) -> None:
        calls.append(what)

    watch = RedisWatch(lambda: None, on_down=lambda: note("down"), on_back=lambda: note("back"), timeout=0.2)

    async def scenario():
        check = asyncio.ensure_future(watch.check())
        await asyncio.sleep(0)  # the ping has started in its thread
        time.sleep(0.6)  # the loop is held three times the ping's timeout (a storm)
        await check

    run_async(scenario())
    assert calls == []
    assert not watch.down


async def _after_an_outage(session_factory, ids):
    """Bob watching Alice; an outage closed both tabs without telling the registry; they
    are taken back; Bob's tab reconnects. The probe."""
    p = make_probe(session_factory)
    await bob_watching_alice(p, ids)
    dropped = [Tab(token="a1", sid="s1", user_id=ids["alice"]), Tab(token="b1", sid="sb", user_id=ids["bob"])]
    await p.service.tabs_dropped(dropped, grace=GRACE)
    assert await p.service.tab_reconnected(token="b1", sid="sb2")
    return p


def test_tabs_taken_back_after_an_outage_keep_their_user_online_if_they_return(session_factory, ids):
    async def scenario():
        p = await _after_an_outage(session_factory, ids)
        assert await p.service.tab_reconnected(token="a1", sid="s2")
        await asyncio.sleep(PAST_GRACE)
        sent = await p.settled()
        status = await p.service.status_of(ids["alice"])
        await p.service.close()
        return sent, status

    sent, status = run_async(scenario())
    assert sent == []  # no blink
    assert status == Status.ONLINE


def test_a_tab_that_does_not_return_after_an_outage_goes_offline_after_the_grace(session_factory, ids):
    async def scenario():
        p = await _after_an_outage(session_factory, ids)  # Alice closed hers meanwhile
        during = await p.service.status_of(ids["alice"])
        await asyncio.sleep(PAST_GRACE)
        sent = await p.settled()
        await p.service.close()
        return during, sent

    during, sent = run_async(scenario())
    assert during == Status.ONLINE
    assert [(tokens, entry["status"]) for tokens, entry in sent] == [(["b1"], "offline")]


def test_a_registry_that_lost_everything_is_told_who_was_online_before_tabs_return(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)  # a new, empty registry: Redis restarted empty
        dropped = [Tab(token="a1", sid="s1", user_id=ids["alice"])]
        await p.service.tabs_dropped(dropped, grace=GRACE)
        # A watcher whose page loads now sees Alice as she was, not offline.
        during = await p.service.status_of(ids["alice"])
        await p.service.tab_reconnected(token="a1", sid="s2")
        await asyncio.sleep(PAST_GRACE)
        after = await p.service.status_of(ids["alice"])
        await p.service.close()
        return during, after

    during, after = run_async(scenario())
    assert during == Status.ONLINE
    assert after == Status.ONLINE
