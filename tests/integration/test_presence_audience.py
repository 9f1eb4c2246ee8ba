"""Who may see a user's presence, on the raw frames: message requests, groups one was
added to, the three audience choices, blocks."""

from __future__ import annotations

import asyncio

import reflex as rx

from chatapp import wire
from chatapp.services import conversations
from tests.integration.messaging import call, latest, send
from tests.integration.support import open_tab
from tests.support import create_user, direct, presence_key, run_async


def _frames_about(tab, user_id: int, mark: int = 0) -> list[str]:
    """The raw frames since `mark` that carry the user's presence entry."""
    key = presence_key(user_id)
    return [f for f in tab.raw_frames[mark:] if isinstance(f, str) and key in f]


async def _wiggle(tab) -> None:
    """The user goes away and comes back (two presence changes for whoever may see them)."""
    await tab.set_status("away")
    await asyncio.sleep(0.3)
    await tab.set_status("auto")
    await asyncio.sleep(0.3)


def test_a_stranger_who_writes_first_learns_nothing_of_the_user_until_accepted(backend_url):
    user_id, user_name = create_user("reqto")
    stranger_id, _ = create_user("reqfrom")
    cid = direct(stranger_id, user_name, answered=False)
    path = f"/c/{cid}"

    async def scenario():
        stranger = await open_tab(backend_url, stranger_id, path)
        user = await open_tab(backend_url, user_id, "/")
        await send(stranger, cid, "hi, we haven't met")
        await user.load(path)  # the user reads it...
        request = latest(user, "request")
        await _wiggle(user)  # ...and is online, away, back
        before = _frames_about(stranger, user_id), stranger.status_of(user_id)
        user_sees_stranger = user.status_of(stranger_id)
        await call(user, "accept_request", {}, path)
        await stranger.wait_for(lambda: stranger.status_of(user_id) == "online")
        for t in (stranger, user):
            await t.disconnect()
        return request, before, user_sees_stranger

    request, (frames, status), user_sees_stranger = run_async(scenario())
    assert request is True
    assert frames == [] and status is None  # zero bytes of the user's presence
    assert user_sees_stranger == "online"  # the one who wrote is seen


def test_a_reply_answers_a_request_too(backend_url):
    user_id, user_name = create_user("replyto")
    stranger_id, _ = create_user("replyfrom")
    cid = direct(stranger_id, user_name, answered=False)
    path = f"/c/{cid}"

    async def scenario():
        stranger = await open_tab(backend_url, stranger_id, path)
        user = await open_tab(backend_url, user_id, path)
        await send(stranger, cid, "hello?")
        await asyncio.sleep(0.3)
        silent = stranger.status_of(user_id)
        await send(user, cid, "hello!")
        await stranger.wait_for(lambda: stranger.status_of(user_id) == "online")
        for t in (stranger, user):
            await t.disconnect()
        return silent

    assert run_async(scenario()) is None


def test_a_member_added_by_others_is_seen_in_the_group_only_once_they_write(backend_url):
    a_id, _ = create_user("gadd")
    c_id, c_name = create_user("gnew")
    with rx.session() as session:
        cid = conversations.create_group(session, user_id=a_id, title="Added", member_usernames=[c_name])
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        c = await open_tab(backend_url, c_id, path)
        await _wiggle(c)
        silent = _frames_about(a, c_id), a.status_of(c_id), c.status_of(a_id)
        await send(c, cid, "hi all")
        await a.wait_for(lambda: a.status_of(c_id) == "online")
        for t in (a, c):
            await t.disconnect()
        return silent

    frames, a_sees_c, c_sees_a = run_async(scenario())
    assert frames == [] and a_sees_c is None
    assert c_sees_a == "online"  # the one who added c wrote to them


def test_nobody_hides_the_user_from_everyone_and_everyone_shows_them_to_all(backend_url):
    a_id, _ = create_user("audall")
    b_id, b_name = create_user("audwatch")
    direct(a_id, b_name)  # they talked

    async def scenario():
        b = await open_tab(backend_url, b_id, "/")
        a = await open_tab(backend_url, a_id, "/")
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        await a.emit(wire.SET_PRESENCE_AUDIENCE, {"choice": "nobody"}, "/")
        await b.wait_for(lambda: b.status_of(a_id) is None)  # the entry goes
        mark = len(b.raw_frames)
        await _wiggle(a)
        hidden = _frames_about(b, a_id, mark)
        await a.emit(wire.SET_PRESENCE_AUDIENCE, {"choice": "everyone"}, "/")
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        stored = latest(a, "presence_audience", wire.APP_STATE)
        for t in (a, b):
            await t.disconnect()
        return hidden, stored

    hidden, stored = run_async(scenario())
    assert hidden == []
    assert stored == "everyone"


def test_a_block_stops_messages_and_presence_both_ways(backend_url):
    user_id, user_name = create_user("blocker")
    pest_id, _ = create_user("blocked")
    cid = direct(pest_id, user_name)
    path = f"/c/{cid}"

    async def scenario():
        pest = await open_tab(backend_url, pest_id, path)
        user = await open_tab(backend_url, user_id, path)
        await pest.wait_for(lambda: pest.status_of(user_id) == "online")
        await call(user, "block_peer", {}, path)
        await pest.wait_for(lambda: pest.status_of(user_id) is None)
        await user.wait_for(lambda: user.status_of(pest_id) is None)
        mark = len(pest.raw_frames)
        await _wiggle(user)
        await send(pest, cid, "let me in")
        await pest.wait_for(lambda: bool(latest(pest, "error")))
        refused = latest(pest, "error")
        await call(user, "unblock_peer", {}, path)
        await pest.wait_for(lambda: pest.status_of(user_id) == "online")
        for t in (pest, user):
            await t.disconnect()
        return _frames_about(pest, user_id, mark), refused

    frames, refused = run_async(scenario())
    assert len(frames) == 1  # only the entry given back at the unblock
    assert refused == "You can't send messages to this person."
