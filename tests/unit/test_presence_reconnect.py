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
