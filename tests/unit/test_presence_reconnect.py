"""A tab whose socket reopens within the grace is back at once, before its page loads
again (`PresenceService.tab_reconnected`): under load a page can take longer than the
grace to load, and its user must not blink offline meanwhile."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from chatapp.presence.logic import Status
from tests.support import run_async
from tests.unit.presence_world import GRACE, PAST_GRACE, bob_watching_alice, make_probe


def test_a_socket_reopening_within_the_grace_keeps_its_user_online_while_the_page_loads(session_factory, ids):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        await p.service.mark_offline(token="a1", sid="s1")
        taken_back = await p.service.tab_reconnected(token="a1", sid="s2")
        await asyncio.sleep(PAST_GRACE)  # the page has not loaded yet
        sent = await p.settled()
        status = await p.service.status_of(ids["alice"])
        tab = next(t for t in await p.service.registry.tabs_of(ids["alice"]) if t.token == "a1")
        again = await p.service.tab_reconnected(token="a1", sid="s3")
        await p.service.close()
        return taken_back, sent, status, tab, again

    taken_back, sent, status, tab, again = run_async(scenario())
    assert taken_back is True
    assert sent == []  # no offline, no second online
    assert status == Status.ONLINE
    assert tab is not None and (tab.user_id, tab.sid) == (ids["alice"], "s2")
    assert again is False  # taken back once


def test_a_socket_opening_after_the_grace_a_logout_or_with_an_unknown_token_is_not_taken_back(
    session_factory, ids
):
    async def scenario():
        p = make_probe(session_factory)
        await bob_watching_alice(p, ids)
        await p.service.mark_online(token="a2", sid="s2", user_id=ids["alice"])
        await p.service.mark_offline(token="a2", sid=None)  # logged out in this tab
        await p.service.mark_offline(token="a1", sid="s1")
        p.now[0] += GRACE + timedelta(milliseconds=1)
        late = await p.service.tab_reconnected(token="a1", sid="s3")
        after_logout = await p.service.tab_reconnected(token="a2", sid="s4")
        unknown = await p.service.tab_reconnected(token="zz", sid="s5")
        await asyncio.sleep(PAST_GRACE)
        status = await p.service.status_of(ids["alice"])
        await p.service.close()
        return late, after_logout, unknown, status

    late, after_logout, unknown, status = run_async(scenario())
    assert (late, after_logout, unknown) == (False, False, False)
    assert status == Status.OFFLINE


async def _alices_tab_closed(session_factory, ids):
    """Bob watching Alice, whose tab a1's socket (s1) has just closed."""
    p = make_probe(session_factory)
    await bob_watching_alice(p, ids)
    await p.service.mark_offline(token="a1", sid="s1")
    return p


def test_a_closed_tab_gets_changes_until_taken_back_and_then_comes_back_current_once(session_factory, ids):
    async def scenario():
        p = await _alices_tab_closed(session_factory, ids)
        registry = p.service.registry
        while_away = await registry.tokens_of([ids["alice"]])
        open_while_away = [t.token for t in await registry.tabs_of(ids["alice"])]
        taken_back = await p.service.tab_reconnected(token="a1", sid="s2")
        back = await registry.tokens_of([ids["alice"]])
        other_socket = p.service.came_back_current("a1", "s-other")  # not the socket taken back
        await p.service.mark_offline(token="a1", sid="s2")  # a blip
        await p.service.tab_reconnected(token="a1", sid="s3")
        first, second = p.service.came_back_current("a1", "s3"), p.service.came_back_current("a1", "s3")
        await p.service.close()
        return while_away, open_while_away, taken_back, back, other_socket, first, second

    while_away, open_while_away, taken_back, back, other_socket, first, second = run_async(scenario())
    assert while_away == ["a1"]  # closed, still a receiver of changes
    assert open_while_away == []  # but not an open tab (the tab cap counts those)
    assert taken_back is True and back == ["a1"]  # once, not twice
    assert (other_socket, first, second) == (False, True, False)  # its next page load only, on its socket


def test_a_tab_back_after_its_grace_closed_again_or_never_closed_is_not_current(session_factory, ids):
    async def scenario():
        p = await _alices_tab_closed(session_factory, ids)
        registry = p.service.registry
        p.now[0] += GRACE + timedelta(milliseconds=1)
        await asyncio.sleep(PAST_GRACE)  # offline published: the closed tab is forgotten
        after_grace = await registry.tokens_of([ids["alice"]])
        late = await p.service.tab_reconnected(token="a1", sid="s2")
        late_current = p.service.came_back_current("a1", "s2")
        await p.service.mark_online(token="a2", sid="s3", user_id=ids["alice"])
        await p.service.mark_offline(token="a2", sid="s3")
        await p.service.tab_reconnected(token="a2", sid="s4")
        await p.service.mark_offline(token="a2", sid="s4")  # closed before its page loaded
        closed_again = p.service.came_back_current("a2", "s4")
        never_closed = p.service.came_back_current("b1", "s1")
        await p.service.close()
        return after_grace, late, late_current, closed_again, never_closed

    after_grace, late, late_current, closed_again, never_closed = run_async(scenario())
    assert after_grace == []
    assert (late, late_current, closed_again, never_closed) == (False, False, False, False)
